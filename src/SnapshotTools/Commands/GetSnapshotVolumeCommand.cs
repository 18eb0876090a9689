using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Get-SnapshotVolume: lists volumes of the store by name (wildcards), or describes volumes by path.</summary>
[Cmdlet(VerbsCommon.Get, "SnapshotVolume", DefaultParameterSetName = NameSet)]
[OutputType(typeof(SnapshotVolume))]
public sealed class GetSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    private const string NameSet = "Name";
    private const string PathSet = "Path";

    /// <summary>Gets or sets the names (wildcards allowed); default all volumes of the store.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Gets or sets volume folders; bound from the <c>VolumePath</c> of piped volume, snapshot and delta objects.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] VolumePath { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        IEnumerable<string> wanted = ParameterSetName == PathSet ? VolumePath : (Name is { Length: > 0 } ? Name : new[] { "*" });
        IReadOnlyList<VolumeLocation> locations;
        try
        {
            locations = store.Expand(wanted, exclusions: null, out _);
        }
        catch (ArgumentException ex)
        {
            ThrowSetupError(ex, Name);
            return;
        }
        WriteVerbose($"Store: '{store.Root}'.");
        foreach (VolumeLocation location in locations)
        {
            try
            {
                WriteObject(VolumeOperations.Describe(location));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
