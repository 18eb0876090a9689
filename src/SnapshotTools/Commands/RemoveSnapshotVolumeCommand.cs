using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Remove-SnapshotVolume: deletes volumes with all their snapshots.</summary>
[Cmdlet(VerbsCommon.Remove, "SnapshotVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SnapshotVolume))]
public sealed class RemoveSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volumes (names, wildcards or paths); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Volume { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether to remove without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether each removed volume (as it was just before) is written to the pipeline.</summary>
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
                SnapshotVolume before = VolumeOperations.Describe(location);
                if (!ShouldChange(location.Path, $"Remove volume ({Format.Size(before.Size)}) with its {before.SnapshotCount} snapshot(s)", Force))
                {
                    continue;
                }
                VolumeOperations.Remove(location);
                WriteVerbose($"Removed volume '{location.Name}' ('{location.Path}').");
                if (PassThru)
                {
                    WriteObject(before);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
