using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Commands;

/// <summary>
/// Export-Backup: writes a snapshot into a backup repository as a full or incremental backup. Binds by property name
/// to <c>Get-SnapshotDelta</c>'s output (<c>VolumePath</c>, <c>From</c>, <c>To</c>, <c>IsFull</c>) and to
/// <c>Get-VolumeSnapshot</c>'s (<c>VolumePath</c>, <c>SnapshotName</c>: incremental from the newest snapshot already
/// backed up, or full when there is none).
/// </summary>
[Cmdlet(VerbsData.Export, "Backup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Backup))]
public sealed class ExportBackupCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volumes (names, wildcards or paths); bound from <c>VolumePath</c>.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VolumePath")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Volume { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets the snapshot to back up; bound from <c>To</c> of a delta or <c>SnapshotName</c> of a snapshot.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("SnapshotName")]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? To { get; set; }

    /// <summary>Gets or sets the base snapshot of an incremental backup (its backup must be in the repository); bound from <c>From</c> of a delta.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string? From { get; set; }

    /// <summary>Gets or sets whether a full backup is written; bound from <c>IsFull</c> of a delta.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("IsFull")]
    public SwitchParameter Full { get; set; }

    /// <summary>Gets or sets the repository (a configured name or a folder; created when missing); default the configured repository.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets the compression; default the configured one (deflate).</summary>
    [Parameter]
    [ValidateSet("None", "Deflate", "Brotli", "Zstd")]
    public string? Compression { get; set; }

    /// <summary>Gets or sets the compression level; default the configured one (1, fastest).</summary>
    [Parameter]
    [ValidateRange(0, 22)]
    public int? CompressionLevel { get; set; }

    /// <summary>Gets or sets a key file (32 bytes, 64 hex digits or base64) to encrypt the backup with AES-256-GCM.</summary>
    [Parameter]
    public string? KeyPath { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string repository;
        DeltaStreamOptions options;
        VolumeStore store;
        try
        {
            repository = GetRepository(Repository);
            options = BackupOperations.StreamOptions(ParameterValues.Compression(Compression), CompressionLevel, ReadKey(KeyPath), Config);
            store = GetStore(StoreRoot);
        }
        catch (Exception ex) when (ex is SnapshotToolsException or IOException or UnauthorizedAccessException)
        {
            ThrowSetupError(ex, Repository);
            return;
        }
        IReadOnlyList<VolumeLocation> locations = store.Expand(Volume, Config.Exclusions, out IReadOnlyList<VolumeLocation> excluded);
        foreach (VolumeLocation skipped in excluded)
        {
            WriteVerbose($"Skipping volume '{skipped.Name}': it matches the configured exclusions.");
        }
        foreach (VolumeLocation location in locations)
        {
            try
            {
                if (string.IsNullOrEmpty(To))
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument,
                        $"Invalid snapshot: a backup of volume '{location.Name}' needs a snapshot (-To); a delta that ends at the live volume cannot be backed up. Take one with New-VolumeSnapshot.");
                }
                string kind = Full ? "full backup" : string.IsNullOrEmpty(From) ? "backup (incremental from the newest snapshot already backed up, else full)" : $"incremental backup from '{From}'";
                if (!ShouldProcess(repository, $"Write a {kind} of snapshot '{To}' of volume '{location.Name}'"))
                {
                    continue;
                }
                string to = To;
                string? from = string.IsNullOrEmpty(From) ? null : From;
                bool full = Full;
                Backup backup = RunWithProgress(ProgressUnit.Bytes, (progress, token) => BackupOperations.Export(repository, location, from, to, full, options, progress, token));
                WriteVerbose($"Backed up '{to}' of volume '{location.Name}' as {backup.Kind.ToString().ToLowerInvariant()} backup {backup.BackupId} ({Format.Size(backup.StreamBytes)} in '{repository}').");
                WriteObject(backup);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, location.Name);
            }
        }
    }
}
