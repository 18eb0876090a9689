using SnapshotTools.Engine;
using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Core;

/// <summary>
/// The backup commands' work (Export/Get/Test/Restore/Merge/Remove-Backup), behind the cmdlets. Each call opens the
/// repository (read-only where it only reads, so a backup running elsewhere does not block it) and closes it again.
/// </summary>
public static class BackupOperations
{
    /// <summary>
    /// Backs up snapshot <paramref name="to"/> of the volume: a full backup when <paramref name="full"/>; an incremental
    /// from <paramref name="from"/> when given; otherwise incremental from the newest older snapshot that has a backup in
    /// the repository, or full when none has (the nightly case). The repository is created when missing.
    /// </summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, MissingLink (no backup of
    /// <paramref name="from"/>), DuplicateBackup, RepositoryInUse, InvalidArgument (not a repository folder), DiskFull, Cancelled.</exception>
    public static Backup Export(string repository, VolumeLocation location, string? from, string to, bool full, DeltaStreamOptions options, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentException.ThrowIfNullOrEmpty(to);
        using Volume volume = VolumeOperations.Open(location);
        using BackupRepository repo = BackupRepository.Open(repository, create: true);
        return VolumeOperations.WrapCancel(() =>
        {
            BackupInfo info;
            if (full)
            {
                info = repo.Export(volume.GetDelta((string?)null, to), options, progress, cancellationToken);
            }
            else if (!string.IsNullOrEmpty(from))
            {
                info = repo.Export(volume, from, to, options, progress, cancellationToken);
            }
            else
            {
                info = repo.ExportNext(volume, to, options, progress, cancellationToken);
            }
            return Backup.Create(info, repo.Location);
        });
    }

    /// <summary>Lists the backups <paramref name="filter"/> chooses.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnsupportedFormat.</exception>
    public static IReadOnlyList<Backup> List(string repository, BackupFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        return filter.Apply(repo.List().Select(b => Backup.Create(b, repo.Location)));
    }

    /// <summary>Returns one backup.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnknownBackup.</exception>
    public static Backup Get(string repository, Guid backupId)
    {
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        return Backup.Create(repo.Get(backupId), repo.Location);
    }

    /// <summary>Returns the chain that restores a backup, full backup first.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnknownBackup, MissingLink.</exception>
    public static IReadOnlyList<Backup> Chain(string repository, Guid backupId)
    {
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        return repo.Chain(backupId).Select(b => Backup.Create(b, repo.Location)).ToArray();
    }

    /// <summary>Returns the backups that depend on a backup (removing it alone would break them).</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnknownBackup.</exception>
    public static IReadOnlyList<Backup> Dependents(string repository, Guid backupId)
    {
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        return repo.Dependents(backupId).Select(b => Backup.Create(b, repo.Location)).ToArray();
    }

    /// <summary>
    /// Verifies a backup without restoring it; in <paramref name="deep"/> mode, also against its snapshot on
    /// <paramref name="volume"/> when that volume still has it (a volume in use is noted and skipped).
    /// </summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnknownBackup, KeyRequired, WrongKey, Cancelled.</exception>
    public static BackupTestResult Test(string repository, Guid backupId, bool deep, VolumeLocation? volume, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        BackupInfo? info = repo.TryGet(backupId);
        var extraNotes = new List<string>();
        Volume? open = null;
        try
        {
            if (deep && volume != null)
            {
                if (!Volume.Exists(volume.Path))
                {
                    extraNotes.Add($"Volume '{volume.Name}' is not at '{volume.Path}', so the deep comparison was skipped.");
                }
                else
                {
                    try
                    {
                        open = Volume.Open(volume.Path);
                    }
                    catch (SnapshotToolsException ex) when (ex.Code == SnapshotErrorCode.VolumeInUse)
                    {
                        extraNotes.Add($"Volume '{volume.Name}' is in use, so the deep comparison was skipped.");
                    }
                }
            }
            BackupVerifyResult r = VolumeOperations.WrapCancel(() => repo.Verify(backupId, deep && open != null, open, key, progress, cancellationToken));
            return new BackupTestResult
            {
                Repository = repo.Location,
                BackupId = backupId,
                VolumeName = info?.VolumeName,
                SnapshotName = info?.ToSnapshotName,
                IsValid = r.IsValid,
                Problems = r.Problems,
                Notes = extraNotes.Concat(r.Notes).ToArray(),
                RecordsRead = r.RecordsRead,
                BytesRead = r.BytesRead,
                BytesCompared = r.BytesCompared,
                DeepCompared = r.DeepCompared,
            };
        }
        finally
        {
            open?.Dispose();
        }
    }

    /// <summary>Restores a backup's point in time into a new volume.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnknownBackup, MissingLink, VolumeExists, KeyRequired,
    /// WrongKey, CorruptStream, DiskFull, Cancelled (the new volume is removed).</exception>
    public static BackupRestoreResult RestoreToVolume(string repository, Guid backupId, VolumeLocation target, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (Volume.Exists(target.Path))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.VolumeExists,
                $"Volume '{target.Name}' already exists at '{target.Path}'. Restore into a new volume name, or remove the old volume first (Remove-SnapshotVolume).");
        }
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        RestoreResult r = VolumeOperations.WrapCancel(() => repo.RestoreToVolume(backupId, target.Path, key, progress, cancellationToken));
        return new BackupRestoreResult
        {
            Backup = Backup.Create(r.Backup, repo.Location),
            IsVolume = true,
            Target = target.Path,
            Volume = VolumeOperations.Describe(target),
            Size = r.Size,
            BackupsRead = r.BackupsRead,
            DataBytesWritten = r.DataBytesWritten,
        };
    }

    /// <summary>Restores a backup's point in time into a raw image file (sparse).</summary>
    /// <exception cref="SnapshotToolsException">TargetExists (and not <paramref name="overwrite"/>), and as <see cref="RestoreToVolume"/>.</exception>
    public static BackupRestoreResult RestoreToImage(string repository, Guid backupId, string imagePath, bool overwrite, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        RestoreResult r = VolumeOperations.WrapCancel(() => repo.RestoreToImage(backupId, imagePath, overwrite, key, progress, cancellationToken));
        return new BackupRestoreResult
        {
            Backup = Backup.Create(r.Backup, repo.Location),
            IsVolume = false,
            Target = r.Target,
            Size = r.Size,
            BackupsRead = r.BackupsRead,
            DataBytesWritten = r.DataBytesWritten,
        };
    }

    /// <summary>Merges the chain ending at an incremental backup into a synthetic full backup.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, RepositoryInUse, UnknownBackup, MissingLink,
    /// InvalidArgument (already full), DuplicateBackup, KeyRequired, WrongKey, CorruptStream, DiskFull, Cancelled.</exception>
    public static Backup Merge(string repository, Guid backupId, DeltaStreamOptions? options, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using BackupRepository repo = BackupRepository.Open(repository);
        return VolumeOperations.WrapCancel(() => Backup.Create(repo.Merge(backupId, options, key, progress, cancellationToken), repo.Location));
    }

    /// <summary>Removes a backup (and, when <paramref name="withDependents"/>, the backups that depend on it).</summary>
    /// <returns>The backups removed.</returns>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, RepositoryInUse, UnknownBackup, BackupHasDependents, DiskFull.</exception>
    public static IReadOnlyList<Backup> Remove(string repository, Guid backupId, bool withDependents)
    {
        using BackupRepository repo = BackupRepository.Open(repository);
        return repo.Remove(backupId, withDependents).Select(b => Backup.Create(b, repo.Location)).ToArray();
    }

    /// <summary>Previews what <paramref name="policy"/> keeps and removes (of one volume, or all), changing nothing.</summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound.</exception>
    public static IReadOnlyList<RetentionDecisionInfo> PlanRetention(string repository, RetentionPolicy policy, Guid? volumeId, out RetentionPlan plan)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
        plan = repo.PlanRetention(policy, volumeId);
        string root = repo.Location;
        return plan.Decisions.Select(d => new RetentionDecisionInfo { Backup = Backup.Create(d.Backup, root), Keep = d.Keep, Reasons = d.Reasons }).ToArray();
    }

    /// <summary>Removes what <paramref name="plan"/> removes, all at once (the catalog is checked against the plan first).</summary>
    /// <exception cref="SnapshotToolsException">RepositoryInUse, BackupHasDependents (the catalog changed since the plan), DiskFull.</exception>
    public static IReadOnlyList<Backup> ApplyRetention(string repository, RetentionPlan plan)
    {
        using BackupRepository repo = BackupRepository.Open(repository);
        return repo.ApplyRetention(plan).Select(b => Backup.Create(b, repo.Location)).ToArray();
    }

    /// <summary>
    /// Orders the backups to remove so that each one's dependents go before it (newest point in time first): removing
    /// them one by one then never trips over a dependent that is itself about to go.
    /// </summary>
    public static IReadOnlyList<Backup> RemovalOrder(IEnumerable<Backup> backups) =>
        backups.OrderByDescending(b => b.Generation).ThenByDescending(b => b.PointInTimeUtc).ThenByDescending(b => b.Info.ToSequence).ThenByDescending(b => b.CreatedUtc).ToArray();

    /// <summary>Builds the stream options of a new backup from the parameters given and the configuration.</summary>
    public static DeltaStreamOptions StreamOptions(StreamCompression? compression, int? level, byte[]? key, SnapshotToolsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new DeltaStreamOptions
        {
            Compression = compression ?? config.EffectiveCompression,
            Level = level ?? config.EffectiveCompressionLevel,
            Key = key,
        };
    }
}
