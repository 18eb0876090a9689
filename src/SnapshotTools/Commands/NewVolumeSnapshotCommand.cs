using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>New-VolumeSnapshot: takes a snapshot of each volume given or piped.</summary>
[Cmdlet(VerbsCommon.New, "VolumeSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VolumeSnapshot))]
public sealed class NewVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volumes (names, wildcards or paths); bound from <c>VolumePath</c> of piped volumes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Volume { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the snapshot's name, unique on each volume.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Gets or sets a description.</summary>
    [Parameter]
    public string? Description { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        IReadOnlyList<VolumeLocation> locations = store.Expand(Volume, Config.Exclusions, out IReadOnlyList<VolumeLocation> excluded);
        foreach (VolumeLocation skipped in excluded)
        {
            WriteVerbose($"Skipping volume '{skipped.Name}': it matches the configured exclusions.");
        }
        foreach (VolumeLocation location in locations)
        {
            try
            {
                if (!ShouldProcess(location.Path, $"Take snapshot '{Name}'"))
                {
                    continue;
                }
                WriteObject(SnapshotOperations.Create(location, Name, Description));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
