using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>New-SnapshotVolume: creates volumes in the store (or at a path).</summary>
[Cmdlet(VerbsCommon.New, "SnapshotVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SnapshotVolume))]
public sealed class NewSnapshotVolumeCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the names of the new volumes (or paths of their folders).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the size in bytes (PowerShell reads 10GB as 10 GiB).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, long.MaxValue)]
    public long Size { get; set; }

    /// <summary>Gets or sets the chunk size: the unit of copy-on-write and change tracking.</summary>
    [Parameter]
    [ValidateSet("4096", "8192", "16384", "32768", "65536", "131072", "262144", "524288", "1048576")]
    public int ChunkSize { get; set; } = Volume.DefaultChunkSize;

    /// <summary>Gets or sets how protected (excluded) ranges are handled: PreserveAndFilter (default) or DoNotPreserve.</summary>
    /// <remarks>A string, not the engine's enum: a value-type field from the engine would make PowerShell load the engine
    /// while it lists the module's types, before the module's load context is in place.</remarks>
    [Parameter]
    [ValidateSet("PreserveAndFilter", "DoNotPreserve")]
    public string ProtectionMode { get; set; } = "PreserveAndFilter";

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether an existing volume is re-created (same id, next generation; its data and snapshots are lost).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeStore store = GetStore(StoreRoot);
        foreach (string name in Name)
        {
            try
            {
                VolumeLocation location = store.ResolveNew(name);
                bool exists = VolumeOperations.Exists(location);
                string action = exists && Force
                    ? $"Re-create volume of {Format.Size(Size)} (the existing volume's data and snapshots are lost)"
                    : $"Create volume of {Format.Size(Size)}";
                if (!ShouldProcess(location.Path, action))
                {
                    continue;
                }
                WriteVerbose($"Creating volume '{location.Name}' in '{location.Path}' ({Format.Size(Size)}, chunk {Format.Size(ChunkSize)}).");
                WriteObject(VolumeOperations.Create(location, Size, ChunkSize, ParameterValues.ProtectionMode(ProtectionMode), recreate: exists && Force));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, name);
            }
        }
    }
}
