using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Test-Backup: verifies backups without restoring them (every record's checksum, the chain, the END record's totals and
/// SHA-256); with <c>-Deep</c>, also compares them with their snapshots when the source volume still has them.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "Backup")]
[OutputType(typeof(BackupTestResult))]
[OutputType(typeof(bool))]
public sealed class TestBackupCommand : SnapshotToolsCmdlet
{
    private bool _allValid = true;

    /// <summary>Gets or sets the repository; bound from <c>Repository</c> of piped backups; default the configured one.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets the backups to verify; bound from <c>BackupId</c> of piped backups; default every backup.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid[]? BackupId { get; set; }

    /// <summary>Gets or sets whether each backup is also compared with its snapshot on the source volume (in the store).</summary>
    [Parameter]
    public SwitchParameter Deep { get; set; }

    /// <summary>Gets or sets the key file of encrypted backups.</summary>
    [Parameter]
    public string? KeyPath { get; set; }

    /// <summary>Gets or sets the store the source volumes are in (for <c>-Deep</c>).</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether only one Boolean is written at the end: true when every backup is sound.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

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
        IReadOnlyList<Backup> backups;
        try
        {
            backups = BackupId is { Length: > 0 }
                ? BackupId.Select(id => TryGet(repository, id)).Where(b => b != null).Select(b => b!).ToArray()
                : BackupOperations.List(repository, new BackupFilter());
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, repository);
            _allValid = false;
            return;
        }
        VolumeStore? store = Deep ? GetStore(StoreRoot) : null;
        foreach (Backup backup in backups)
        {
            try
            {
                VolumeLocation? source = store?.Resolve(backup.VolumeName);
                BackupTestResult result = RunWithProgress(ProgressUnit.Bytes, (progress, token) => BackupOperations.Test(repository, backup.BackupId, Deep, source, key, progress, token));
                foreach (string problem in result.Problems)
                {
                    WriteWarning($"Backup {backup.BackupId} ('{backup.SnapshotName}' of '{backup.VolumeName}'): {problem}");
                }
                _allValid &= result.IsValid;
                if (!Quiet)
                {
                    WriteObject(result);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                _allValid = false;
                WriteItemError(ex, backup);
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (Quiet)
        {
            WriteObject(_allValid);
        }
    }

    private Backup? TryGet(string repository, Guid id)
    {
        try
        {
            return BackupOperations.Get(repository, id);
        }
        catch (SnapshotTools.Engine.SnapshotToolsException ex)
        {
            _allValid = false;
            WriteItemError(ex, id);
            return null;
        }
    }
}
