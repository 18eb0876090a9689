using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>
/// A backup repository in a folder (the embedded default): delta stream files and a checksummed catalog of them, per
/// volume its chains of full and incremental backups (docs/repository-format.md). This file holds opening, the
/// catalog queries, export and removal; restore, verify, merge and retention are in the other
/// <c>BackupRepository.*.cs</c> files.
/// </summary>
/// <remarks>
/// <para>Crash safety: a backup is written to <c>ID.stdelta.partial</c>, fsynced, renamed to <c>ID.stdelta</c>, and
/// only then added to the catalog, which is itself replaced atomically (new file, fsync, rename, folder fsync). A
/// crash at any point leaves the catalog listing only complete backups; the leftovers (partial files, complete streams
/// never catalogued, merge scratch space) are removed when a writer next opens the repository.</para>
/// <para>Concurrency: one writer at a time, enforced by an exclusive lock on <c>repository.lock</c> (a second writer
/// gets <see cref="SnapshotErrorCode.RepositoryInUse"/>). Readers (<see cref="OpenReadOnly"/>) take no lock and see
/// the catalog as of when they opened it (or last called <see cref="Refresh"/>); they open every stream a restore or
/// verify needs before reading, so a writer removing a backup meanwhile does not disturb them on Unix.</para>
/// <para>Methods of one instance are safe to call from several threads.</para>
/// </remarks>
public sealed partial class BackupRepository : IDisposable
{
    internal const string LockFileName = "repository.lock";
    internal const string StreamsFolder = "streams";
    internal const string ScratchFolder = "tmp";
    internal const string StreamExtension = ".stdelta";
    internal const string PartialSuffix = ".partial";

    private readonly object _gate = new();
    private readonly string _root;
    private readonly FileStream? _lock;
    private BackupCatalog _catalog;
    private bool _disposed;

    private BackupRepository(string root, FileStream? lockFile, BackupCatalog catalog)
    {
        _root = root;
        _lock = lockFile;
        _catalog = catalog;
    }

    /// <summary>Gets the repository folder.</summary>
    public string Location => _root;

    /// <summary>Gets whether this handle was opened read-only (no lock; export, remove, merge and retention refused).</summary>
    public bool IsReadOnly => _lock == null;

    /// <summary>Gets the repository's id, fixed when it was created.</summary>
    public Guid RepositoryId => _catalog.RepositoryId;

    /// <summary>Gets what opening the repository found and cleaned up after an earlier interruption.</summary>
    public IReadOnlyList<string> RecoveryMessages { get; private set; } = Array.Empty<string>();

    /// <summary>
    /// Gets the damaged parts of the catalog (entries that failed their checksum), empty when the catalog is intact. The
    /// backups they described are not listed; <see cref="Repair"/> rebuilds them from the stream files.
    /// </summary>
    public IReadOnlyList<string> CatalogProblems
    {
        get
        {
            lock (_gate)
            {
                return _catalog.Quarantine.Select(q => q.Problem).ToArray();
            }
        }
    }

    /// <summary>Returns whether a backup repository exists in <paramref name="path"/>.</summary>
    public static bool Exists(string path) => File.Exists(Path.Combine(Path.GetFullPath(path), BackupCatalog.FileName));

    /// <summary>
    /// Opens the repository in <paramref name="path"/> for writing, creating it when <paramref name="create"/> is true
    /// and none exists. Leftovers of an interrupted export or merge are removed (see <see cref="RecoveryMessages"/>).
    /// </summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound (and <paramref name="create"/> is false),
    /// RepositoryInUse (another writer has it open), InvalidArgument (the folder holds other files and is not a
    /// repository), UnsupportedFormat (a newer catalog format).</exception>
    public static BackupRepository Open(string path, bool create = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string root = Path.GetFullPath(path);
        string catalogPath = Path.Combine(root, BackupCatalog.FileName);
        if (!File.Exists(catalogPath) && !create)
        {
            throw NotFound(root);
        }
        Directory.CreateDirectory(root);
        FileStream lockFile = TakeLock(root);
        try
        {
            BackupCatalog catalog;
            var messages = new List<string>();
            if (!File.Exists(catalogPath))
            {
                string[] foreign = Directory.EnumerateFileSystemEntries(root)
                    .Select(Path.GetFileName)
                    .Where(n => n != LockFileName && n != BackupCatalog.FileName + ".new" && n != StreamsFolder && n != ScratchFolder)
                    .Select(n => n!)
                    .ToArray();
                if (foreign.Length > 0)
                {
                    throw SnapshotToolsException.Invalid("repository folder",
                        $"'{root}' is not a backup repository and is not empty (it holds '{foreign[0]}'{(foreign.Length > 1 ? $" and {foreign.Length - 1} more" : "")}); choose an empty or new folder");
                }
                Directory.CreateDirectory(Path.Combine(root, StreamsFolder));
                catalog = new BackupCatalog();
                catalog.Save(catalogPath);
                DurableFiles.SyncDirectory(Path.GetDirectoryName(root) ?? root);
            }
            else
            {
                catalog = BackupCatalog.Load(catalogPath);
            }
            var repository = new BackupRepository(root, lockFile, catalog);
            repository.CleanUp(messages);
            repository.RecoveryMessages = messages;
            return repository;
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the repository for reading only: list, get, chain, verify and restore. No lock is taken, so this works
    /// while a writer has the repository open; the catalog is read once (see <see cref="Refresh"/>).
    /// </summary>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound, UnsupportedFormat.</exception>
    public static BackupRepository OpenReadOnly(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string root = Path.GetFullPath(path);
        string catalogPath = Path.Combine(root, BackupCatalog.FileName);
        if (!File.Exists(catalogPath))
        {
            throw NotFound(root);
        }
        return new BackupRepository(root, null, BackupCatalog.Load(catalogPath));
    }

    /// <summary>Re-reads the catalog (for a read-only handle, to see a writer's changes).</summary>
    public void Refresh()
    {
        ThrowIfDisposed();
        BackupCatalog fresh = BackupCatalog.Load(CatalogPath);
        lock (_gate)
        {
            _catalog = fresh;
        }
    }

    /// <summary>Lists the backups (of one volume when <paramref name="volumeId"/> is given), by volume, then oldest point in time first.</summary>
    public IReadOnlyList<BackupInfo> List(Guid? volumeId = null)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return _catalog.Entries
                .Where(e => volumeId == null || e.VolumeId == volumeId)
                .OrderBy(e => e.VolumeId)
                .ThenBy(e => e.Generation)
                .ThenBy(e => e.ToSnapshotCreatedUtc)
                .ThenBy(e => e.ToSequence)
                .ThenBy(e => e.CreatedUtc)
                .ToArray();
        }
    }

    /// <summary>Lists the volumes that have backups here, with the name of their newest backup.</summary>
    public IReadOnlyList<RepositoryVolume> ListVolumes()
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return _catalog.Entries
                .GroupBy(e => e.VolumeId)
                .Select(g =>
                {
                    BackupInfo newest = g.OrderBy(e => e.ToSnapshotCreatedUtc).ThenBy(e => e.CreatedUtc).Last();
                    return new RepositoryVolume(g.Key, newest.VolumeName, g.Count(), g.Sum(e => e.StreamBytes), newest.ToSnapshotCreatedUtc);
                })
                .OrderBy(v => v.Name, StringComparer.OrdinalIgnoreCase)
                .ToArray();
        }
    }

    /// <summary>Returns the backup with the given id.</summary>
    /// <exception cref="SnapshotToolsException">UnknownBackup; CorruptMetadata when its catalog entry is damaged.</exception>
    public BackupInfo Get(Guid backupId)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return GetCore(_catalog, backupId);
        }
    }

    /// <summary>Returns the backup with the given id, or null.</summary>
    public BackupInfo? TryGet(Guid backupId)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return _catalog.Entries.FirstOrDefault(e => e.BackupId == backupId);
        }
    }

    /// <summary>
    /// Returns the chain that restores <paramref name="backupId"/>: its full backup first, then each incremental in
    /// order, ending with the backup itself.
    /// </summary>
    /// <exception cref="SnapshotToolsException">UnknownBackup; MissingLink (a backup of the chain is gone, naming it);
    /// CorruptMetadata (links that do not fit together).</exception>
    public IReadOnlyList<BackupInfo> Chain(Guid backupId)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return ChainCore(_catalog, GetCore(_catalog, backupId));
        }
    }

    /// <summary>Returns the backups that depend on <paramref name="backupId"/> (whose chains include it), nearest first.</summary>
    /// <exception cref="SnapshotToolsException">UnknownBackup.</exception>
    public IReadOnlyList<BackupInfo> Dependents(Guid backupId)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            GetCore(_catalog, backupId);
            return DependentsCore(_catalog, new HashSet<Guid> { backupId });
        }
    }

    /// <summary>
    /// Writes <paramref name="delta"/> into the repository as a new backup: full when <see cref="VolumeDelta.From"/> is
    /// null, else incremental on top of the backup that reaches the delta's base snapshot. The backup is listed only once
    /// its stream is complete and durable.
    /// </summary>
    /// <exception cref="SnapshotToolsException">MissingLink (no backup here reaches the base snapshot), DuplicateBackup,
    /// InvalidArgument (the delta ends at the live volume; read-only handle), SizeMismatch, DiskFull, Cancelled (the
    /// partial file is removed), or a failure reading the volume.</exception>
    public BackupInfo Export(VolumeDelta delta, DeltaStreamOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return ExportCore(delta, delta.VolumeName, options, null, progress, cancellationToken);
    }

    /// <summary>
    /// Backs up snapshot <paramref name="toSnapshot"/> of <paramref name="volume"/>: incremental from
    /// <paramref name="fromSnapshot"/> (whose backup must be in the repository), or full when it is null.
    /// </summary>
    /// <exception cref="SnapshotToolsException">UnknownSnapshot, and as <see cref="Export(VolumeDelta, DeltaStreamOptions?, IProgress{OperationProgress}?, CancellationToken)"/>.</exception>
    public BackupInfo Export(Volume volume, string? fromSnapshot, string toSnapshot, DeltaStreamOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(toSnapshot);
        return Export(volume.GetDelta(fromSnapshot, toSnapshot), options, progress, cancellationToken);
    }

    /// <summary>
    /// Backs up snapshot <paramref name="toSnapshot"/> as an incremental from the newest older snapshot of the volume
    /// that has a backup here, or as a full backup when there is none (the nightly case).
    /// </summary>
    /// <exception cref="SnapshotToolsException">As <see cref="Export(Volume, string?, string, DeltaStreamOptions?, IProgress{OperationProgress}?, CancellationToken)"/>.</exception>
    public BackupInfo ExportNext(Volume volume, string toSnapshot, DeltaStreamOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        SnapshotInfo to = volume.GetSnapshot(toSnapshot);
        SnapshotInfo? from = null;
        lock (_gate)
        {
            var backedUp = new HashSet<Guid>(_catalog.Entries
                .Where(e => e.VolumeId == volume.VolumeId && e.Generation == volume.Generation)
                .Where(e => TryChain(_catalog, e) != null)
                .Select(e => e.ToSnapshotId));
            foreach (SnapshotInfo s in volume.Snapshots)
            {
                if (s.Sequence < to.Sequence && backedUp.Contains(s.Id))
                {
                    from = s;
                }
            }
        }
        return Export(volume.GetDelta(from, to), options, progress, cancellationToken);
    }

    /// <summary>
    /// Removes a backup: from the catalog first (atomically), then its stream file. A backup that others depend on is
    /// refused unless <paramref name="withDependents"/> is true, in which case they are removed with it.
    /// </summary>
    /// <returns>The backups removed.</returns>
    /// <exception cref="SnapshotToolsException">UnknownBackup, BackupHasDependents, InvalidArgument (read-only), DiskFull.</exception>
    public IReadOnlyList<BackupInfo> Remove(Guid backupId, bool withDependents = false)
    {
        ThrowIfReadOnly();
        lock (_gate)
        {
            BackupInfo victim = GetCore(_catalog, backupId);
            IReadOnlyList<BackupInfo> dependents = DependentsCore(_catalog, new HashSet<Guid> { backupId });
            if (dependents.Count > 0 && !withDependents)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.BackupHasDependents,
                    $"Backup {victim.BackupId} ('{victim.ToSnapshotName}' of volume '{victim.VolumeName}') is needed by {dependents.Count} later backup(s) " +
                    $"({string.Join(", ", dependents.Take(5).Select(d => $"{d.BackupId} '{d.ToSnapshotName}'"))}{(dependents.Count > 5 ? ", ..." : "")}): " +
                    "removing it alone would make them unrestorable. Remove them too (withDependents), or first merge the backup you want to keep into a synthetic full, which needs no older backup.");
            }
            var removed = new List<BackupInfo> { victim };
            removed.AddRange(dependents);
            RemoveCore(removed);
            return removed;
        }
    }

    /// <summary>
    /// Rebuilds the damaged part of the catalog from the stream files it can no longer account for: each is read and
    /// verified in full, then catalogued again (its base found by its base snapshot). Damaged entries whose stream file
    /// is gone are dropped. Does nothing when the catalog is intact and every stream file is catalogued.
    /// </summary>
    /// <param name="key">The key of encrypted streams, if any.</param>
    /// <param name="cancellationToken">Cancels between streams.</param>
    /// <returns>What was done, one line per stream or damaged entry.</returns>
    /// <exception cref="SnapshotToolsException">InvalidArgument (read-only), KeyRequired/WrongKey (an encrypted stream
    /// needs the key; nothing is changed), DiskFull.</exception>
    public IReadOnlyList<string> Repair(byte[]? key = null, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        lock (_gate)
        {
            var report = new List<string>();
            var adopted = new List<BackupInfo>();
            var unreadable = new List<string>();
            foreach (string file in UnaccountedStreams(_catalog))
            {
                cancellationToken.ThrowIfCancellationRequested();
                string full = Path.Combine(_root, file.Replace('/', Path.DirectorySeparatorChar));
                try
                {
                    adopted.Add(Adopt(file, full, key, cancellationToken));
                    report.Add($"Re-catalogued '{file}' after verifying it.");
                }
                catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.KeyRequired or SnapshotErrorCode.WrongKey)
                {
                    throw new SnapshotToolsException(ex.Code, $"Stream '{file}' is encrypted and " + (ex.Code == SnapshotErrorCode.WrongKey ? "the key given is not its key" : "no key was given") + "; nothing was changed. Repair again with its key.", ex);
                }
                catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.UnsupportedFormat)
                {
                    unreadable.Add(file);
                    report.Add($"Left '{file}' uncatalogued: {ex.Message}");
                }
            }
            BackupCatalog next = _catalog.Clone();
            int dropped = next.Quarantine.Count;
            next.Quarantine.Clear();
            // Adopt bases before their incrementals, then resolve links against the whole new catalog.
            foreach (BackupInfo b in adopted.OrderBy(b => b.Kind).ThenBy(b => b.ToSnapshotCreatedUtc).ThenBy(b => b.ToSequence))
            {
                BackupInfo entry = b;
                if (b.Kind == BackupKind.Incremental)
                {
                    BackupInfo? baseBackup = FindBase(next, b.VolumeId, b.Generation, b.FromSnapshotId!.Value);
                    entry = b with { BaseBackupId = baseBackup?.BackupId ?? Guid.Empty };
                    if (baseBackup == null)
                    {
                        report.Add($"Backup {b.BackupId} ('{b.ToSnapshotName}') was re-catalogued, but no backup reaches its base snapshot '{b.FromSnapshotName}': it cannot be restored.");
                    }
                }
                string? name = next.Entries.FirstOrDefault(e => e.VolumeId == b.VolumeId)?.VolumeName;
                next.Entries.Add(name != null ? entry with { VolumeName = name } : entry);
            }
            if (unreadable.Count > 0)
            {
                // Keep the damage on record while a stream it may belong to is still uncatalogued.
                next.Quarantine.AddRange(_catalog.Quarantine);
                dropped = 0;
            }
            if (dropped > 0)
            {
                report.Add($"Dropped {dropped} damaged catalog record(s); every stream file is now accounted for.");
            }
            if (adopted.Count == 0 && dropped == 0)
            {
                return report;
            }
            SaveCatalog(next);
            return report;
        }
    }

    /// <summary>Releases the writer lock.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _lock?.Dispose();
        }
    }

    internal string CatalogPath => Path.Combine(_root, BackupCatalog.FileName);

    internal string FullPath(BackupInfo backup)
    {
        string relative = backup.FileName;
        if (!relative.StartsWith(StreamsFolder + "/", StringComparison.Ordinal) || relative.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            throw SnapshotToolsException.Corrupt($"the catalog of repository '{_root}'", $"backup {backup.BackupId} names the file '{relative}', outside the streams folder");
        }
        return Path.Combine(_root, relative.Replace('/', Path.DirectorySeparatorChar));
    }

    private BackupInfo ExportCore(VolumeDelta delta, string volumeName, DeltaStreamOptions? options, Guid? mergedFrom, IProgress<OperationProgress>? progress, CancellationToken cancellationToken, long? toSequence = null)
    {
        ThrowIfReadOnly();
        SnapshotInfo to = delta.To ?? throw SnapshotToolsException.Invalid("delta", "a backup must reach a snapshot; take a snapshot of the live volume first");
        options ??= new DeltaStreamOptions();
        BackupInfo? baseBackup;
        lock (_gate)
        {
            baseBackup = CheckExport(_catalog, delta, to);
        }

        Guid backupId = Guid.NewGuid();
        string relative = $"{StreamsFolder}/{delta.VolumeId:D}/{backupId:D}{StreamExtension}";
        string final = Path.Combine(_root, relative.Replace('/', Path.DirectorySeparatorChar));
        string folder = Path.GetDirectoryName(final)!;
        string temp = final + PartialSuffix;
        DeltaStreamSummary summary;
        long length;
        try
        {
            if (!Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder);
                DurableFiles.SyncDirectory(Path.GetDirectoryName(folder)!);
            }
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024))
            {
                summary = DeltaStreamWriter.Write(delta, output, options, progress, cancellationToken);
                output.Flush(flushToDisk: true);
                length = output.Length;
            }
            File.Move(temp, final);
            DurableFiles.SyncDirectory(folder);
        }
        catch (OperationCanceledException ex)
        {
            DurableFiles.TryDelete(temp);
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled,
                $"The backup of snapshot '{to.Name}' of volume '{volumeName}' was cancelled; the partial stream was removed and nothing was added to repository '{_root}'.", ex);
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            DurableFiles.TryDelete(temp);
            throw new SnapshotToolsException(SnapshotErrorCode.DiskFull,
                $"The disk holding repository '{_root}' is full; the backup of '{to.Name}' was not added and its partial stream was removed.", ex);
        }
        catch
        {
            DurableFiles.TryDelete(temp);
            throw;
        }

        DeltaStreamHeader h = summary.Header;
        var info = new BackupInfo
        {
            BackupId = backupId,
            VolumeId = h.VolumeId,
            VolumeName = volumeName,
            Generation = h.Generation,
            Kind = h.IsFull ? BackupKind.Full : BackupKind.Incremental,
            BaseBackupId = baseBackup?.BackupId,
            FromSnapshotId = h.FromSnapshotId,
            FromSnapshotName = h.FromName,
            ToSnapshotId = h.ToSnapshotId,
            ToSequence = toSequence ?? h.ToSequence,
            ToSnapshotName = h.ToName,
            ToSnapshotCreatedUtc = h.ToCreatedUtc,
            ToSnapshotDescription = h.ToDescription,
            ChunkSize = h.ChunkSize,
            FromSize = h.FromSize,
            VolumeSize = h.ToSize,
            StreamBytes = length,
            DataBytes = summary.DataBytes,
            ZeroBytes = summary.ZeroBytes,
            UnmappedBytes = summary.UnmappedBytes,
            Records = summary.Records,
            ContentSha256 = Hex(summary.ContentSha256),
            StreamId = Hex(summary.StreamId),
            Compression = h.Compression,
            Encrypted = h.Encrypted,
            KeyId = options.Key != null ? Hex(StreamKey.KeyId(options.Key)) : null,
            CreatedUtc = h.CreatedUtc,
            MergedFrom = mergedFrom,
            FileName = relative,
        };
        lock (_gate)
        {
            try
            {
                // The catalog may have changed while the stream was written (a removal of the base, say).
                BackupInfo? stillBase = CheckExport(_catalog, delta, to);
                if (stillBase?.BackupId != baseBackup?.BackupId)
                {
                    info = info with { BaseBackupId = stillBase?.BackupId };
                }
                BackupCatalog next = _catalog.Clone();
                next.Entries.Add(info);
                SaveCatalog(next);
            }
            catch
            {
                DurableFiles.TryDelete(final);
                throw;
            }
        }
        return info;
    }

    /// <summary>Checks that a delta may be added; returns the backup an incremental chains from.</summary>
    private BackupInfo? CheckExport(BackupCatalog catalog, VolumeDelta delta, SnapshotInfo to)
    {
        Guid? fromId = delta.From?.Id;
        BackupInfo? duplicate = catalog.Entries.FirstOrDefault(e => e.VolumeId == delta.VolumeId && e.ToSnapshotId == to.Id && e.FromSnapshotId == fromId);
        if (duplicate != null)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.DuplicateBackup,
                $"Repository '{_root}' already has backup {duplicate.BackupId} of snapshot '{to.Name}' of volume '{duplicate.VolumeName}'" +
                (fromId == null ? " (full)" : $" from '{delta.From!.Name}'") + ".");
        }
        if (delta.From == null)
        {
            return null;
        }
        BackupInfo? baseBackup = FindBase(catalog, delta.VolumeId, delta.Generation, delta.From.Id);
        if (baseBackup == null)
        {
            bool other = catalog.Entries.Any(e => e.VolumeId == delta.VolumeId && e.ToSnapshotId == delta.From.Id);
            throw new SnapshotToolsException(SnapshotErrorCode.MissingLink,
                $"An incremental backup from snapshot '{delta.From.Name}' needs a backup of '{delta.From.Name}' in repository '{_root}', and " +
                (other ? "the one there has a broken chain itself" : "there is none") +
                (catalog.IsDamaged ? " (the catalog has damaged entries: Repair may restore it)" : "") +
                $". Back up '{delta.From.Name}' first, or make a full backup of '{to.Name}'.");
        }
        if (baseBackup.VolumeSize != delta.FromSize)
        {
            throw SnapshotToolsException.SizeMismatch($"base backup {baseBackup.BackupId} of snapshot '{delta.From.Name}'", delta.FromSize, baseBackup.VolumeSize);
        }
        if (baseBackup.ChunkSize != delta.ChunkSize)
        {
            throw SnapshotToolsException.Invalid("delta", $"its chunk size {delta.ChunkSize} differs from base backup {baseBackup.BackupId}'s {baseBackup.ChunkSize}");
        }
        return baseBackup;
    }

    /// <summary>The backup to chain an incremental from: of those reaching the snapshot with an intact chain, the shortest chain (a synthetic full wins), then the newest.</summary>
    private static BackupInfo? FindBase(BackupCatalog catalog, Guid volumeId, long generation, Guid snapshotId)
    {
        BackupInfo? best = null;
        int bestLength = int.MaxValue;
        foreach (BackupInfo e in catalog.Entries)
        {
            if (e.VolumeId != volumeId || e.Generation != generation || e.ToSnapshotId != snapshotId)
            {
                continue;
            }
            List<BackupInfo>? chain = TryChain(catalog, e);
            if (chain == null)
            {
                continue;
            }
            if (chain.Count < bestLength || (chain.Count == bestLength && e.CreatedUtc > best!.CreatedUtc))
            {
                best = e;
                bestLength = chain.Count;
            }
        }
        return best;
    }

    private BackupInfo GetCore(BackupCatalog catalog, Guid backupId)
    {
        BackupInfo? b = catalog.Entries.FirstOrDefault(e => e.BackupId == backupId);
        if (b != null)
        {
            return b;
        }
        if (catalog.IsDamaged && UnaccountedStreams(catalog).Any(f => f.EndsWith($"/{backupId:D}{StreamExtension}", StringComparison.OrdinalIgnoreCase)))
        {
            throw SnapshotToolsException.Corrupt($"the catalog of repository '{_root}'",
                $"the entry of backup {backupId} is damaged (its stream file is there); run Repair to rebuild it from the stream");
        }
        throw new SnapshotToolsException(SnapshotErrorCode.UnknownBackup, $"Repository '{_root}' has no backup {backupId}.");
    }

    private static List<BackupInfo>? TryChain(BackupCatalog catalog, BackupInfo backup)
    {
        try
        {
            return ChainCore(catalog, backup);
        }
        catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.MissingLink or SnapshotErrorCode.CorruptMetadata)
        {
            return null;
        }
    }

    private static List<BackupInfo> ChainCore(BackupCatalog catalog, BackupInfo backup)
    {
        var chain = new List<BackupInfo>();
        var seen = new HashSet<Guid>();
        BackupInfo current = backup;
        while (true)
        {
            if (!seen.Add(current.BackupId))
            {
                throw SnapshotToolsException.Corrupt("the repository catalog", $"the chain of backup {backup.BackupId} loops at backup {current.BackupId}");
            }
            chain.Add(current);
            if (current.Kind == BackupKind.Full)
            {
                break;
            }
            Guid baseId = current.BaseBackupId ?? Guid.Empty;
            BackupInfo? next = catalog.Entries.FirstOrDefault(e => e.BackupId == baseId);
            if (next == null)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.MissingLink,
                    $"The chain of backup {backup.BackupId} ('{backup.ToSnapshotName}' of volume '{backup.VolumeName}') is broken: incremental {current.BackupId} ('{current.ToSnapshotName}') " +
                    $"applies on top of backup {baseId} of snapshot '{current.FromSnapshotName}', which is not in the repository" +
                    (catalog.IsDamaged ? " (the catalog has damaged entries: Repair may restore it)" : " (removed)") + ".");
            }
            if (next.ToSnapshotId != current.FromSnapshotId || next.VolumeId != current.VolumeId || next.Generation != current.Generation || next.VolumeSize != current.FromSize || next.ChunkSize != current.ChunkSize)
            {
                throw SnapshotToolsException.Corrupt("the repository catalog",
                    $"incremental {current.BackupId} names backup {next.BackupId} as its base, but that backup reaches snapshot '{next.ToSnapshotName}', not '{current.FromSnapshotName}' of the same volume and size");
            }
            current = next;
        }
        chain.Reverse();
        return chain;
    }

    /// <summary>The backups whose chains pass through any of <paramref name="roots"/> (not the roots themselves), nearest first.</summary>
    private static IReadOnlyList<BackupInfo> DependentsCore(BackupCatalog catalog, HashSet<Guid> roots)
    {
        var result = new List<BackupInfo>();
        var reached = new HashSet<Guid>(roots);
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (BackupInfo e in catalog.Entries)
            {
                if (e.BaseBackupId is Guid b && reached.Contains(b) && reached.Add(e.BackupId))
                {
                    result.Add(e);
                    grew = true;
                }
            }
        }
        return result;
    }

    /// <summary>Drops backups from the catalog (durably), then deletes their files. Caller holds the gate.</summary>
    private void RemoveCore(IReadOnlyCollection<BackupInfo> victims)
    {
        var ids = new HashSet<Guid>(victims.Select(v => v.BackupId));
        BackupCatalog next = _catalog.Clone();
        next.Entries.RemoveAll(e => ids.Contains(e.BackupId));
        SaveCatalog(next);
        var folders = new HashSet<string>();
        foreach (BackupInfo v in victims)
        {
            string path = FullPath(v);
            DurableFiles.TryDelete(path);
            folders.Add(Path.GetDirectoryName(path)!);
        }
        foreach (string folder in folders)
        {
            DurableFiles.SyncDirectory(folder);
        }
    }

    /// <summary>Saves <paramref name="next"/> and makes it current; on failure the current catalog stays as it was.</summary>
    private void SaveCatalog(BackupCatalog next)
    {
        try
        {
            next.Save(CatalogPath);
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.DiskFull, $"The disk holding repository '{_root}' is full; its catalog was not changed.", ex);
        }
        _catalog = next;
    }

    /// <summary>Stream files (relative paths) that no intact catalog entry names.</summary>
    private List<string> UnaccountedStreams(BackupCatalog catalog)
    {
        var named = new HashSet<string>(catalog.Entries.Select(e => e.FileName), StringComparer.Ordinal);
        var result = new List<string>();
        string streams = Path.Combine(_root, StreamsFolder);
        if (!Directory.Exists(streams))
        {
            return result;
        }
        foreach (string file in Directory.EnumerateFiles(streams, "*" + StreamExtension, SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!named.Contains(relative))
            {
                result.Add(relative);
            }
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>Removes what interrupted operations left behind. Runs on a writer's open, under the lock.</summary>
    private void CleanUp(List<string> messages)
    {
        if (File.Exists(CatalogPath + ".new"))
        {
            DurableFiles.TryDelete(CatalogPath + ".new");
            messages.Add("Removed the half-written new catalog of an interrupted update; the catalog in force is the one before it.");
        }
        string streams = Path.Combine(_root, StreamsFolder);
        Directory.CreateDirectory(streams);
        foreach (string partial in Directory.EnumerateFiles(streams, "*" + PartialSuffix, SearchOption.AllDirectories).ToArray())
        {
            DurableFiles.TryDelete(partial);
            messages.Add($"Removed '{Path.GetRelativePath(_root, partial)}', the partial stream of an interrupted backup; it was never listed.");
        }
        string scratch = Path.Combine(_root, ScratchFolder);
        if (Directory.Exists(scratch))
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
                messages.Add("Removed the scratch space of an interrupted merge.");
            }
            catch (IOException ex)
            {
                messages.Add($"Could not remove the scratch space '{scratch}': {ex.Message}");
            }
        }
        foreach (string orphan in UnaccountedStreams(_catalog))
        {
            if (_catalog.IsDamaged)
            {
                messages.Add($"Kept '{orphan}', which the catalog does not list: the catalog is damaged and it may be one of the damaged entries. Run Repair.");
                continue;
            }
            DurableFiles.TryDelete(Path.Combine(_root, orphan.Replace('/', Path.DirectorySeparatorChar)));
            messages.Add($"Removed '{orphan}', the stream of a backup interrupted before it was catalogued; it was never listed.");
        }
    }

    /// <summary>Reads and verifies an uncatalogued stream and describes it as a catalog entry (base left to the caller).</summary>
    private static BackupInfo Adopt(string relative, string fullPath, byte[]? key, CancellationToken cancellationToken)
    {
        using var input = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1024 * 1024, FileOptions.SequentialScan);
        DeltaStreamSummary summary;
        DeltaStreamReader reader;
        try
        {
            reader = new DeltaStreamReader(input, null, leaveOpen: true);
        }
        catch (SnapshotToolsException ex) when (ex.Code == SnapshotErrorCode.KeyRequired && key != null)
        {
            // Encrypted: read it again with the key.
            input.Position = 0;
            reader = new DeltaStreamReader(input, key, leaveOpen: true);
        }
        using (reader)
        {
            summary = reader.VerifyToEnd(cancellationToken);
        }
        DeltaStreamHeader h = summary.Header;
        string name = Path.GetFileNameWithoutExtension(relative);
        if (!Guid.TryParse(name, out Guid backupId))
        {
            backupId = Guid.NewGuid();
        }
        return new BackupInfo
        {
            BackupId = backupId,
            VolumeId = h.VolumeId,
            VolumeName = $"volume {h.VolumeId:D}",
            Generation = h.Generation,
            Kind = h.IsFull ? BackupKind.Full : BackupKind.Incremental,
            FromSnapshotId = h.FromSnapshotId,
            FromSnapshotName = h.FromName,
            ToSnapshotId = h.ToSnapshotId,
            ToSequence = h.ToSequence,
            ToSnapshotName = h.ToName,
            ToSnapshotCreatedUtc = h.ToCreatedUtc,
            ToSnapshotDescription = h.ToDescription,
            ChunkSize = h.ChunkSize,
            FromSize = h.FromSize,
            VolumeSize = h.ToSize,
            StreamBytes = input.Length,
            DataBytes = summary.DataBytes,
            ZeroBytes = summary.ZeroBytes,
            UnmappedBytes = summary.UnmappedBytes,
            Records = summary.Records,
            ContentSha256 = Hex(summary.ContentSha256),
            StreamId = Hex(summary.StreamId),
            Compression = h.Compression,
            Encrypted = h.Encrypted,
            KeyId = h.Encrypted && key != null ? Hex(StreamKey.KeyId(key)) : null,
            CreatedUtc = h.CreatedUtc,
            FileName = relative,
        };
    }

    private static FileStream TakeLock(string root)
    {
        string path = Path.Combine(root, LockFileName);
        try
        {
            // FileShare.None: an exclusive advisory lock on Unix, a share-mode lock on Windows; either stops a second
            // writer, in another process or in this one.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.RepositoryInUse,
                $"Backup repository '{root}' is in use: another process or handle has it open for writing (it holds '{path}'). " +
                "Wait for that backup, merge or removal to finish; listing, verifying and restoring work meanwhile through a read-only handle.", ex);
        }
    }

    private static SnapshotToolsException NotFound(string root) =>
        new(SnapshotErrorCode.RepositoryNotFound, $"No backup repository exists at '{root}' (it has no '{BackupCatalog.FileName}' file). Open it with create to make one.");

    internal static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(BackupRepository), $"The handle of backup repository '{_root}' is closed.");
        }
    }

    private void ThrowIfReadOnly()
    {
        ThrowIfDisposed();
        if (_lock == null)
        {
            throw SnapshotToolsException.Invalid("repository handle", $"repository '{_root}' was opened read-only; open it for writing to change it");
        }
    }
}

/// <summary>A volume that has backups in a repository.</summary>
/// <param name="VolumeId">The volume's id.</param>
/// <param name="Name">The volume's name at its newest backup.</param>
/// <param name="Backups">How many backups it has.</param>
/// <param name="StreamBytes">The bytes its stream files take.</param>
/// <param name="NewestPointUtc">When the snapshot of its newest backup was taken.</param>
public sealed record RepositoryVolume(Guid VolumeId, string Name, int Backups, long StreamBytes, DateTimeOffset NewestPointUtc);
