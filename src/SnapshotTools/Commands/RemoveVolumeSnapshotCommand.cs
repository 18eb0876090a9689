using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>Remove-VolumeSnapshot: deletes snapshots (oldest, newest or in the middle); the others read exactly as before.</summary>
[Cmdlet(VerbsCommon.Remove, "VolumeSnapshot", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(VolumeSnapshot))]
public sealed class RemoveVolumeSnapshotCommand : SnapshotToolsCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of a piped volume (piped snapshots bind to -InputObject).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the snapshot names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the snapshots to remove, from <c>Get-VolumeSnapshot</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public VolumeSnapshot[] InputObject { get; set; } = Array.Empty<VolumeSnapshot>();

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether to remove without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether each removed snapshot is written to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var targets = new List<(VolumeLocation Location, VolumeSnapshot Snapshot)>();
        if (ParameterSetName == InputObjectSet)
        {
            foreach (VolumeSnapshot s in InputObject)
            {
                targets.Add((new VolumeLocation(s.VolumeName, s.VolumePath), s));
            }
        }
        else
        {
            try
            {
                VolumeLocation location = GetStore(StoreRoot).Resolve(Volume);
                var filter = new SnapshotFilter { Names = Name };
                IReadOnlyList<VolumeSnapshot> found = SnapshotOperations.Get(location, filter, out IReadOnlyList<string> missing);
                foreach (string name in missing)
                {
                    WriteItemError(new SnapshotToolsException(SnapshotErrorCode.UnknownSnapshot, $"Volume '{location.Name}' has no snapshot '{name}'."), name);
                }
                targets.AddRange(found.Select(s => (location, s)));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, Volume);
                return;
            }
        }
        foreach ((VolumeLocation location, VolumeSnapshot snapshot) in targets)
        {
            try
            {
                if (!ShouldChange($"{location.Name}/{snapshot.Name}", $"Remove snapshot taken {Format.Time(snapshot.CreatedUtc)}", Force))
                {
                    continue;
                }
                RunWithProgress(ProgressUnit.Items, (progress, token) =>
                {
                    SnapshotOperations.Remove(location, snapshot.Id.ToString("D"), progress, token);
                    return 0;
                });
                WriteVerbose($"Removed snapshot '{snapshot.Name}' of volume '{location.Name}'.");
                if (PassThru)
                {
                    WriteObject(snapshot);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, snapshot);
            }
        }
    }
}
