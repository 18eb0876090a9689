using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Import-Backup: applies delta streams (stream files, or backups from a repository) to a volume: a full stream creates
/// the volume, an incremental applies on top of its base snapshot. The volume is unchanged when an import fails, and
/// importing the same stream again resumes an interrupted import. Backups whose snapshot the volume already has are
/// skipped, so <c>Get-Backup -VolumeName db01 | Import-Backup -Volume db01-replica</c> can run every night.
/// </summary>
[Cmdlet(VerbsData.Import, "Backup", DefaultParameterSetName = BackupSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VolumeSnapshot))]
public sealed class ImportBackupCommand : SnapshotToolsCmdlet
{
    private const string BackupSet = "Backup";
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private bool _yesToAll;
    private bool _noToAll;

    /// <summary>Gets or sets the target volume (a name or a path); created by a full stream when missing.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Volume { get; set; } = "";

    /// <summary>Gets or sets the backups to apply; bound from <c>BackupId</c> of piped backups.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BackupSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid[] BackupId { get; set; } = Array.Empty<Guid>();

    /// <summary>Gets or sets the repository of the backups; bound from <c>Repository</c> of piped backups; default the configured one.</summary>
    [Parameter(ParameterSetName = BackupSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets delta stream files (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets delta stream files, taken literally; bound from <c>PSPath</c> of piped files.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets whether the volume is first rolled back to the stream's base snapshot, discarding its changes and younger snapshots (like zfs receive -F).</summary>
    [Parameter]
    public SwitchParameter RollbackTarget { get; set; }

    /// <summary>Gets or sets the key file of encrypted streams.</summary>
    [Parameter]
    public string? KeyPath { get; set; }

    /// <summary>Gets or sets the store folder; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <summary>Gets or sets whether overwriting imports (-RollbackTarget) go ahead without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        VolumeLocation target;
        byte[]? key;
        try
        {
            target = GetStore(StoreRoot).Resolve(Volume);
            key = ReadKey(KeyPath);
        }
        catch (Exception ex) when (ex is SnapshotTools.Engine.SnapshotToolsException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            ThrowSetupError(ex, Volume);
            return;
        }
        if (ParameterSetName == BackupSet)
        {
            string repository;
            try
            {
                repository = GetRepository(Repository);
            }
            catch (SnapshotTools.Engine.SnapshotToolsException ex)
            {
                ThrowSetupError(ex, Repository);
                return;
            }
            foreach (Guid id in BackupId)
            {
                try
                {
                    Backup backup = BackupOperations.Get(repository, id);
                    if (ImportOperations.AlreadyImported(target, backup.SnapshotId))
                    {
                        WriteVerbose($"Skipping backup {id}: volume '{target.Name}' already has snapshot '{backup.SnapshotName}'.");
                        continue;
                    }
                    ImportOne(target, backup.StreamPath, $"backup {id} ('{backup.SnapshotName}' of '{backup.VolumeName}')", key);
                }
                catch (Exception ex) when (ex is not PipelineStoppedException)
                {
                    WriteItemError(ex, id);
                }
            }
            return;
        }
        foreach (string file in PathResolution.ResolveInputFiles(this, ParameterSetName == LiteralPathSet ? LiteralPath : Path, ParameterSetName == LiteralPathSet))
        {
            try
            {
                ImportOne(target, file, $"'{file}'", key);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, file);
            }
        }
    }

    private void ImportOne(VolumeLocation target, string streamPath, string what, byte[]? key)
    {
        string action = RollbackTarget
            ? $"Apply {what}, first rolling the volume back to the stream's base snapshot (its later changes and snapshots are lost)"
            : $"Apply {what}";
        if (!ShouldChange(target.Path, action))
        {
            return;
        }
        if (RollbackTarget && !ShouldDestroy($"Volume '{target.Name}' is rolled back to the stream's base snapshot first: changes and snapshots made there since are lost. Continue?", "Overwrite the target volume", Force, ref _yesToAll, ref _noToAll))
        {
            return;
        }
        bool rollback = RollbackTarget;
        ImportOperations.Outcome outcome = RunWithProgress(ProgressUnit.Bytes, (progress, token) => ImportOperations.Import(target, streamPath, rollback, key, progress, token));
        if (outcome.ResumedAtRecord > 0)
        {
            WriteVerbose($"Resumed an interrupted import at record {outcome.ResumedAtRecord}.");
        }
        WriteVerbose($"Applied {what} to volume '{target.Name}'{(outcome.CreatedVolume ? " (created)" : "")}: snapshot '{outcome.Snapshot.Name}', {Format.Size(outcome.DataBytes)} of data.");
        WriteObject(outcome.Snapshot);
    }
}
