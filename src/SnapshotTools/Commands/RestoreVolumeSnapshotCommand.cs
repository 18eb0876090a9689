using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Restore-VolumeSnapshot: rolls the live volume back to a snapshot from the preservation store. Changes made since the
/// snapshot are lost (newer snapshots keep theirs). Once started it runs to the end, even after Ctrl+C: a rollback
/// stopped halfway would leave the volume a mix of old and new data.
/// </summary>
[Cmdlet(VerbsData.Restore, "VolumeSnapshot", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SnapshotVolume))]
public sealed class RestoreVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of a piped volume (piped snapshots bind to -InputObject).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the snapshot's name or id.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Gets or sets the snapshot to roll back to, from <c>Get-VolumeSnapshot</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public VolumeSnapshot? InputObject { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether to roll back without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether the volume is written to the pipeline afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        object target = InputObject ?? (object)Name;
        try
        {
            VolumeLocation location = InputObject != null
                ? new VolumeLocation(InputObject.VolumeName, InputObject.VolumePath)
                : GetStore(StoreRoot).Resolve(Volume);
            VolumeSnapshot snapshot = InputObject ?? SnapshotOperations.Find(location, Name);
            if (!ShouldChange(location.Path, $"Roll back to snapshot '{snapshot.Name}' of {Format.Time(snapshot.CreatedUtc)} (changes since then are lost)", Force))
            {
                return;
            }
            (SnapshotVolume volume, long chunks) = RunWithProgress(ProgressUnit.Items, (progress, _) => SnapshotOperations.Rollback(location, snapshot.Id.ToString("D"), progress));
            WriteVerbose($"Rolled volume '{location.Name}' back to '{snapshot.Name}': {chunks} chunk(s) rewritten.");
            if (PassThru)
            {
                WriteObject(volume);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, target);
        }
    }
}
