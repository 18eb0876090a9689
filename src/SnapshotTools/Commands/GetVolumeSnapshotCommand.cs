using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>Get-VolumeSnapshot: lists snapshots by volume, name (wildcards) and date, oldest first.</summary>
[Cmdlet(VerbsCommon.Get, "VolumeSnapshot")]
[OutputType(typeof(VolumeSnapshot))]
public sealed class GetVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volumes (names, wildcards or paths); default every volume of the store. Bound from <c>VolumePath</c> of piped volumes.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[]? Volume { get; set; }

    /// <summary>Gets or sets snapshot names or ids (wildcards allowed); default all.</summary>
    [Parameter(Position = 1)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Gets or sets the earliest creation time listed.</summary>
    [Parameter]
    public DateTime? After { get; set; }

    /// <summary>Gets or sets the latest creation time listed.</summary>
    [Parameter]
    public DateTime? Before { get; set; }

    /// <summary>Gets or sets how many of the newest matching snapshots of each volume are listed.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Newest { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        var filter = new SnapshotFilter { Names = Name, CreatedAfter = ToInstant(After), CreatedBefore = ToInstant(Before), Newest = Newest };
        IReadOnlyList<VolumeLocation> locations;
        try
        {
            locations = store.Expand(Volume is { Length: > 0 } ? Volume : new[] { "*" }, null, out _);
            // Parse the name patterns once up front: a bad pattern is a setup error, not one error per volume.
            filter.Apply(Array.Empty<SnapshotInfo>());
        }
        catch (ArgumentException ex)
        {
            ThrowSetupError(ex, Name);
            return;
        }
        foreach (VolumeLocation location in locations)
        {
            try
            {
                IReadOnlyList<VolumeSnapshot> found = SnapshotOperations.Get(location, filter, out IReadOnlyList<string> missing);
                foreach (string name in missing)
                {
                    WriteItemError(new SnapshotToolsException(SnapshotErrorCode.UnknownSnapshot, $"Volume '{location.Name}' has no snapshot '{name}'."), name);
                }
                WriteObject(found, enumerateCollection: true);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
