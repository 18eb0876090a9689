using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Compare-VolumeSnapshot: compares two snapshots (or a snapshot and the live volume) byte for byte.</summary>
[Cmdlet(VerbsData.Compare, "VolumeSnapshot")]
[OutputType(typeof(SnapshotComparison))]
public sealed class CompareVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the reference snapshot (name or id).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string ReferenceSnapshot { get; set; } = "";

    /// <summary>Gets or sets the snapshot compared with it; default the live volume.</summary>
    [Parameter(Position = 2)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? DifferenceSnapshot { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            VolumeLocation location = GetStore(StoreRoot).Resolve(Volume);
            string? difference = string.IsNullOrEmpty(DifferenceSnapshot) ? null : DifferenceSnapshot;
            WriteObject(RunWithProgress(ProgressUnit.Bytes, (progress, token) => SnapshotOperations.Compare(location, ReferenceSnapshot, difference, progress, token)));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, Volume);
        }
    }
}
