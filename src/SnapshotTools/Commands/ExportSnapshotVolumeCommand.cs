using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Export-SnapshotVolume: writes the live volume or a snapshot to a raw image file (sparse where unused).</summary>
[Cmdlet(VerbsData.Export, "SnapshotVolume", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileInfo))]
public sealed class ExportSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the image file to write.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Gets or sets the image file to write, taken literally.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>Gets or sets the snapshot to export; default the live volume. Bound from <c>SnapshotName</c> of piped snapshots.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("SnapshotName")]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? Snapshot { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether an existing file is replaced.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether the image file is written to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            VolumeLocation location = GetStore(StoreRoot).Resolve(Volume);
            string image = PathResolution.ResolveOutputFile(this, ParameterSetName == LiteralPathSet ? LiteralPath : Path);
            bool exists = File.Exists(image);
            string what = string.IsNullOrEmpty(Snapshot) ? $"volume '{location.Name}'" : $"snapshot '{Snapshot}' of volume '{location.Name}'";
            if (!ShouldProcess(image, exists ? $"Replace the file with {what}" : $"Write {what} as a raw image"))
            {
                return;
            }
            long size = RunWithProgress(ProgressUnit.Bytes, (progress, token) => VolumeOperations.Export(location, string.IsNullOrEmpty(Snapshot) ? null : Snapshot, image, Force, progress, token));
            WriteVerbose($"Wrote {what} to '{image}' ({Format.Size(size)}).");
            if (PassThru)
            {
                WriteObject(new FileInfo(image));
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, Volume);
        }
    }
}
