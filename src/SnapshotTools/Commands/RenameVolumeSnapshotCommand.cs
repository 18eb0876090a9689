using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Rename-VolumeSnapshot: renames a snapshot (given by volume and name, or piped).</summary>
[Cmdlet(VerbsCommon.Rename, "VolumeSnapshot", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VolumeSnapshot))]
public sealed class RenameVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of a piped volume (piped snapshots bind to -InputObject).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the snapshot's current name or id.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Gets or sets the snapshot to rename, from <c>Get-VolumeSnapshot</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public VolumeSnapshot? InputObject { get; set; }

    /// <summary>Gets or sets the new name.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether the renamed snapshot is written to the pipeline.</summary>
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
            string snapshot = InputObject != null ? InputObject.Id.ToString("D") : Name;
            string shown = InputObject?.Name ?? Name;
            if (!ShouldProcess($"{location.Name}/{shown}", $"Rename snapshot to '{NewName}'"))
            {
                return;
            }
            VolumeSnapshot renamed = SnapshotOperations.Rename(location, snapshot, NewName);
            if (PassThru)
            {
                WriteObject(renamed);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, target);
        }
    }
}
