using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Commands;

/// <summary>
/// Merge-Backup: merges the chain ending at an incremental backup into a synthetic full backup (verified before it is
/// catalogued), so older links can then be removed without losing that point in time.
/// </summary>
[Cmdlet(VerbsData.Merge, "Backup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Backup))]
public sealed class MergeBackupCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the repository; bound from <c>Repository</c> of piped backups; default the configured one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets the incremental backups whose chains are merged; bound from <c>BackupId</c> of piped backups.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid[] BackupId { get; set; } = Array.Empty<Guid>();

    /// <summary>Gets or sets the compression of the synthetic full; default that of the merged backup.</summary>
    [Parameter]
    [ValidateSet("None", "Deflate", "Brotli", "Zstd")]
    public string? Compression { get; set; }

    /// <summary>Gets or sets the key file of an encrypted chain (the synthetic full is encrypted with it too).</summary>
    [Parameter]
    public string? KeyPath { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string repository;
        byte[]? key;
        try
        {
            repository = GetRepository(Repository);
            key = ReadKey(KeyPath);
        }
        catch (Exception ex) when (ex is SnapshotTools.Engine.SnapshotToolsException or IOException or UnauthorizedAccessException)
        {
            ThrowSetupError(ex, Repository);
            return;
        }
        foreach (Guid id in BackupId)
        {
            try
            {
                Backup backup = BackupOperations.Get(repository, id);
                if (!ShouldProcess($"{repository} backup {id}", $"Merge the chain of '{backup.SnapshotName}' of volume '{backup.VolumeName}' into a synthetic full backup"))
                {
                    continue;
                }
                DeltaStreamOptions? options = Compression == null ? null : new DeltaStreamOptions { Compression = ParameterValues.Compression(Compression)!.Value, Key = key };
                WriteObject(RunWithProgress(ProgressUnit.Bytes, (progress, token) => BackupOperations.Merge(repository, id, options, key, progress, token)));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, id);
            }
        }
    }
}
