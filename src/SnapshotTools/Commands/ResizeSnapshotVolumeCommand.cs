using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Resize-SnapshotVolume: grows or shrinks volumes; snapshots keep their sizes.</summary>
[Cmdlet(VerbsCommon.Resize, "SnapshotVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SnapshotVolume))]
public sealed class ResizeSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    private bool _yesToAll;
    private bool _noToAll;

    /// <summary>Gets or sets the volumes (names, wildcards or paths); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Volume { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the new size in bytes.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, long.MaxValue)]
    public long Size { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether shrinking a volume without snapshots (which drops the bytes past the end for good) goes ahead without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether the resized volume is written to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        foreach (VolumeLocation location in store.Expand(Volume, null, out _))
        {
            try
            {
                VolumeOperations.ResizePlan plan = VolumeOperations.PlanResize(location, Size);
                if (!ShouldProcess(location.Path, $"Resize volume from {Format.Size(plan.CurrentSize)} to {Format.Size(Size)}"))
                {
                    continue;
                }
                if (plan.LosesData && !ShouldDestroy(
                        $"Volume '{location.Name}' has no snapshot: the {Format.Size(plan.CurrentSize - Size)} past the new end are lost for good. Shrink it?",
                        "Shrink without a snapshot", Force, ref _yesToAll, ref _noToAll))
                {
                    continue;
                }
                SnapshotVolume resized = VolumeOperations.Resize(location, Size);
                WriteVerbose($"Volume '{location.Name}' is now {Format.Size(resized.Size)}.");
                if (PassThru)
                {
                    WriteObject(resized);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
