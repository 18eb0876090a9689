using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Write-SnapshotVolume: writes bytes (from a file, or given as a byte array) into a live volume at an offset, like
/// <c>dd seek=</c>. Writes go through copy-on-write, so snapshots keep what they had.
/// </summary>
[Cmdlet(VerbsCommunications.Write, "SnapshotVolume", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SnapshotVolume))]
public sealed class WriteSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private const string ValueSet = "Value";

    /// <summary>Gets or sets the volume (a name or a path); bound from <c>VolumePath</c> of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the file whose bytes are written.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Gets or sets the file whose bytes are written, taken literally.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>Gets or sets the bytes to write.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ValueSet)]
    [ValidateNotNull]
    public byte[] Value { get; set; } = Array.Empty<byte>();

    /// <summary>Gets or sets the byte offset in the volume where writing starts; default 0.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long Offset { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether the volume is written to the pipeline afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            VolumeLocation location = GetStore(StoreRoot).Resolve(Volume);
            string? file = ParameterSetName switch
            {
                PathSet => PathResolution.ResolveInputFiles(this, new[] { Path }, literal: false).FirstOrDefault(),
                LiteralPathSet => PathResolution.ResolveInputFiles(this, new[] { LiteralPath }, literal: true).FirstOrDefault(),
                _ => null,
            };
            if (ParameterSetName != ValueSet && file == null)
            {
                return;
            }
            string what = file != null ? $"'{file}'" : $"{Value.Length} bytes";
            if (!ShouldProcess(location.Path, $"Write {what} at offset {Offset}"))
            {
                return;
            }
            long offset = Offset;
            long written = RunWithProgress(ProgressUnit.Bytes, (progress, token) =>
            {
                using Stream input = file != null ? File.OpenRead(file) : new MemoryStream(Value, writable: false);
                return VolumeOperations.Write(location, input, offset, progress, token);
            });
            WriteVerbose($"Wrote {Format.Size(written)} to volume '{location.Name}' at offset {Offset}.");
            if (PassThru)
            {
                WriteObject(VolumeOperations.Describe(location));
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, Volume);
        }
    }
}
