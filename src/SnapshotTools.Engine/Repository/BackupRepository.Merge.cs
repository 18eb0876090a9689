using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>Merging a chain into a synthetic full backup.</summary>
public sealed partial class BackupRepository
{
    /// <summary>
    /// Makes a synthetic full backup equivalent to the chain ending at <paramref name="backupId"/>: the point in time is
    /// restored into scratch space inside the repository, written as a new full stream, and verified against it (every
    /// record and the deep comparison) before it is catalogued. The synthetic full reaches the same snapshot; the
    /// incrementals based directly on <paramref name="backupId"/> are re-based on it (a catalog change only: their base
    /// snapshot is the same), and later incrementals chain from it, so the old chain can then be removed by
    /// <see cref="Remove"/> or retention.
    /// </summary>
    /// <param name="backupId">The backup whose chain is merged (an incremental).</param>
    /// <param name="options">The new stream's options; by default the compression of <paramref name="backupId"/>, and
    /// when the chain is encrypted, encryption with <paramref name="key"/>.</param>
    /// <param name="key">The key of the chain's encrypted streams, if any.</param>
    /// <param name="progress">Receives progress of the restore and of the write.</param>
    /// <param name="cancellationToken">Cancels; nothing is added and the scratch space is removed.</param>
    /// <returns>The synthetic full backup.</returns>
    /// <exception cref="SnapshotToolsException">UnknownBackup, MissingLink, InvalidArgument (already a full backup;
    /// read-only), DuplicateBackup (a full backup of that snapshot exists), KeyRequired/WrongKey, CorruptStream (a
    /// stream of the chain, or the new one, fails verification), DiskFull, Cancelled.</exception>
    public BackupInfo Merge(Guid backupId, DeltaStreamOptions? options = null, byte[]? key = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        IReadOnlyList<BackupInfo> chain = Chain(backupId);
        BackupInfo target = chain[^1];
        if (chain.Count == 1)
        {
            throw SnapshotToolsException.Invalid("backup", $"{backupId} ('{target.ToSnapshotName}') is already a full backup; there is nothing to merge");
        }
        lock (_gate)
        {
            BackupInfo? existing = _catalog.Entries.FirstOrDefault(e => e.Kind == BackupKind.Full && e.VolumeId == target.VolumeId && e.ToSnapshotId == target.ToSnapshotId);
            if (existing != null)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.DuplicateBackup,
                    $"Repository '{_root}' already has full backup {existing.BackupId} of snapshot '{target.ToSnapshotName}'; merging would add nothing.");
            }
        }
        bool encrypted = chain.Any(b => b.Encrypted);
        options ??= new DeltaStreamOptions { Compression = target.Compression, Key = encrypted ? key : null };

        string scratch = Path.Combine(_root, ScratchFolder, $"merge-{Guid.NewGuid():N}");
        try
        {
            BackupInfo merged;
            using (Volume volume = RestoreVolumeCore(chain, scratch, key, progress, cancellationToken, out RestoreResult restored))
            {
                VolumeDelta full = volume.GetDelta(null, restored.Snapshot!);
                merged = ExportCore(full, target.VolumeName, options, target.BackupId, progress, cancellationToken, target.ToSequence);
                BackupVerifyResult check;
                try
                {
                    check = Verify(merged.BackupId, deep: true, volume, options.Key, null, cancellationToken);
                }
                catch
                {
                    Discard(merged);
                    throw;
                }
                if (!check.IsValid || !check.DeepCompared)
                {
                    Discard(merged);
                    throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream,
                        $"The synthetic full backup of '{target.ToSnapshotName}' failed its verification and was removed: " + string.Join(" ", check.Problems.Concat(check.Notes)));
                }
            }
            lock (_gate)
            {
                var next = _catalog.Clone();
                bool changed = false;
                for (int i = 0; i < next.Entries.Count; i++)
                {
                    if (next.Entries[i].BaseBackupId == target.BackupId)
                    {
                        next.Entries[i] = next.Entries[i] with { BaseBackupId = merged.BackupId };
                        changed = true;
                    }
                }
                if (changed)
                {
                    SaveCatalog(next);
                }
            }
            return merged;
        }
        finally
        {
            DeleteScratch(scratch);
        }
    }

    /// <summary>Removes a backup that was just added and must not stay.</summary>
    private void Discard(BackupInfo backup)
    {
        lock (_gate)
        {
            if (_catalog.Entries.Any(e => e.BackupId == backup.BackupId))
            {
                RemoveCore(new[] { backup });
            }
        }
    }

    private static void DeleteScratch(string scratch)
    {
        try
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
            string parent = Path.GetDirectoryName(scratch)!;
            if (Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any())
            {
                Directory.Delete(parent);
            }
        }
        catch (IOException)
        {
            // Removed at the next open.
        }
    }
}
