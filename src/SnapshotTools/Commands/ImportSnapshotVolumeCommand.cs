using System.Management.Automation;
using SnapshotTools.Core;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>Import-SnapshotVolume: creates volumes from raw image files or block devices (zero chunks stay sparse).</summary>
[Cmdlet(VerbsData.Import, "SnapshotVolume", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SnapshotVolume))]
public sealed class ImportSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>Gets or sets the image files (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the image files, taken literally; bound from <c>PSPath</c> of piped files (Get-ChildItem).</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the new volume's name (or folder path); default the image's file name without extension.</summary>
    [Parameter(Position = 1)]
    public string? Name { get; set; }

    /// <summary>Gets or sets the chunk size of the new volume.</summary>
    [Parameter]
    [ValidateSet("4096", "8192", "16384", "32768", "65536", "131072", "262144", "524288", "1048576")]
    public int ChunkSize { get; set; } = SnapshotTools.Engine.Volume.DefaultChunkSize;

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether an existing volume of that name is replaced (its data and snapshots are lost).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        List<string> images = PathResolution.ResolveInputFiles(this, ParameterSetName == LiteralPathSet ? LiteralPath : Path, ParameterSetName == LiteralPathSet);
        if (images.Count > 1 && !string.IsNullOrEmpty(Name))
        {
            ThrowSetupError(new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, $"Invalid -Name: {images.Count} images were given and each needs its own volume; leave -Name out to name each volume after its image."), Name);
        }
        foreach (string image in images)
        {
            try
            {
                VolumeLocation location = store.ResolveNew(string.IsNullOrEmpty(Name) ? System.IO.Path.GetFileNameWithoutExtension(image) : Name);
                bool exists = VolumeOperations.Exists(location);
                if (exists && !Force)
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.VolumeExists, $"Volume '{location.Name}' already exists at '{location.Path}'. Use -Force to replace it (its data and snapshots are lost).");
                }
                string action = exists ? $"Replace volume with the contents of '{image}' (its data and snapshots are lost)" : $"Create volume from '{image}'";
                if (!ShouldChange(location.Path, action))
                {
                    continue;
                }
                WriteVerbose($"Importing '{image}' into volume '{location.Name}' ('{location.Path}').");
                SnapshotVolume created = RunWithProgress(ProgressUnit.Bytes, (progress, token) => VolumeOperations.Import(image, location, ChunkSize, exists, progress, token));
                WriteObject(created);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, image);
            }
        }
    }
}
