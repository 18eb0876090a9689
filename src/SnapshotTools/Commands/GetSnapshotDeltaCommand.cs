using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Get-SnapshotDelta: the differential between two snapshots, or a snapshot and the live volume (extents and sizes).
/// Without <c>-From</c> it is a full delta. Pipe it to <c>Export-Backup</c>.
/// </summary>
[Cmdlet(VerbsCommon.Get, "SnapshotDelta")]
[OutputType(typeof(SnapshotDelta))]
public sealed class GetSnapshotDeltaCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the older snapshot (name or id); none for a full delta. Bound from <c>SnapshotName</c> of a piped snapshot.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("SnapshotName")]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? From { get; set; }

    /// <summary>Gets or sets the newer snapshot (name or id); none for the live volume.</summary>
    [Parameter(Position = 2)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? To { get; set; }

    /// <summary>Gets or sets whether a differential that cannot be exact (the volume was re-created since -From) is reported as a full copy instead of failing.</summary>
    [Parameter]
    public SwitchParameter AllowFull { get; set; }

    /// <summary>Gets or sets whether the extents themselves are listed (they can be many).</summary>
    [Parameter]
    public SwitchParameter IncludeExtents { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            VolumeLocation location = GetStore(StoreRoot).Resolve(Volume);
            WriteVerbose($"Computing the delta of volume '{location.Name}' from {(string.IsNullOrEmpty(From) ? "nothing (full)" : $"'{From}'")} to {(string.IsNullOrEmpty(To) ? "the live volume" : $"'{To}'")}.");
            // The volume is closed again before the object is written, so the next command (Export-Backup) can open it.
            SnapshotDelta delta = DeltaOperations.Get(location, From, To, AllowFull, IncludeExtents, CancellationToken);
            if (delta.FullReason != null)
            {
                WriteWarning($"Volume '{location.Name}': a full copy instead of an incremental: {delta.FullReason}");
            }
            WriteObject(delta);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            if (Stopping)
            {
                throw new PipelineStoppedException();
            }
            WriteItemError(ex, Volume);
        }
    }
}
