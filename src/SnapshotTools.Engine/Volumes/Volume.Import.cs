using SnapshotTools.Engine.Streams;
using SnapshotTools.Engine.Volumes;

namespace SnapshotTools.Engine;

/// <summary>
/// Applying a staged delta stream to the volume (the engine side of <see cref="DeltaImporter"/>): target checks,
/// the forced rollback to the base, and the commit that replays the staged operations through the copy-on-write path
/// and creates the stream's snapshot with its id and name.
/// </summary>
public sealed partial class Volume
{
    internal ImportJournal OpenImportJournal()
    {
        ThrowIfDisposed();
        return new ImportJournal(_storage);
    }

    /// <summary>
    /// Checks that the stream can be applied to this volume now; with <paramref name="force"/>, first rolls the
    /// volume back to the stream's base (deleting younger snapshots), like <c>zfs receive -F</c>.
    /// </summary>
    /// <exception cref="SnapshotToolsException">ForeignVolume, GenerationMismatch, DuplicateImport, WrongBase,
    /// SizeMismatch, TargetModified or NameInUse, each naming what differs.</exception>
    internal void PrepareImport(DeltaStreamHeader header, bool force, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        EnterWrite();
        try
        {
            if (force)
            {
                ForceToBase(header, progress, cancellationToken);
            }
            CheckImportTarget(header);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>Commits a fully staged and verified import. The journal's state must be complete.</summary>
    internal SnapshotInfo CommitImport(ImportJournal journal, DeltaStreamHeader header, CancellationToken cancellationToken)
    {
        EnterWrite();
        try
        {
            // The volume may have changed while the stream was being staged.
            CheckImportTarget(header);
            cancellationToken.ThrowIfCancellationRequested();
            ImportState state = journal.State!;
            journal.Checkpoint(state.StagedRecords, state.RunningCrc, committed: true);
            return ReplayImport(journal);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>At open: completes a committed import, or reports a staged one that can be resumed.</summary>
    private string? RecoverImport()
    {
        if (!ImportJournal.Exists(_storage))
        {
            return null;
        }
        using var journal = new ImportJournal(_storage);
        ImportState? state = journal.Load();
        if (state == null)
        {
            return null;
        }
        if (!state.Committed)
        {
            return $"An interrupted import of snapshot '{state.ToName}' is staged ({state.StagedRecords} records); import the same stream again to resume it. The volume itself was not changed by it.";
        }
        SnapshotInfo info = ReplayImport(journal);
        return $"An interrupted import of snapshot '{info.Name}' was completed.";
    }

    /// <summary>Replays the staged operations (idempotent) and creates the snapshot. Caller holds the lock exclusively.</summary>
    private SnapshotInfo ReplayImport(ImportJournal journal)
    {
        ImportState state = journal.State!;
        if (state.IsFull && _snapshots.Count == 0)
        {
            // A full stream makes this volume a copy of the source's lineage.
            _volumeId = state.VolumeId;
            _generation = state.Generation;
        }
        foreach ((byte kind, long offset, long length, byte[]? data) in journal.Operations())
        {
            switch (kind)
            {
                case ImportJournal.OpResize:
                    ResizeCore(offset);
                    break;
                case ImportJournal.OpData:
                    CheckRange(offset, length, _size, "the volume");
                    ChangeCore(offset, length, ChangeKind.Write, data);
                    break;
                case ImportJournal.OpZero:
                    CheckRange(offset, length, _size, "the volume");
                    ChangeCore(offset, length, ChangeKind.Zero, ReadOnlySpan<byte>.Empty);
                    break;
                case ImportJournal.OpUnmap:
                    CheckRange(offset, length, _size, "the volume");
                    ChangeCore(offset, length, ChangeKind.Discard, ReadOnlySpan<byte>.Empty);
                    break;
                default:
                    throw SnapshotToolsException.Corrupt($"'{ImportJournal.JournalName}'", $"unknown operation {kind}");
            }
        }
        if (_size != state.ToSize)
        {
            ResizeCore(state.ToSize);
        }
        int existing = _snapshots.FindIndex(s => s.Info.Id == state.ToSnapshotId);
        SnapshotInfo info = existing >= 0
            ? _snapshots[existing].Info
            : CreateSnapshotCore(state.ToName, state.ToDescription, state.ToSnapshotId, state.ToCreatedUtc);
        journal.Delete();
        return info;
    }

    private void ForceToBase(DeltaStreamHeader header, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        if (_snapshots.Any(s => s.Info.Id == header.ToSnapshotId))
        {
            return; // a duplicate stays a duplicate: forcing must not destroy the snapshot it would recreate
        }
        if (header.IsFull)
        {
            while (_snapshots.Count > 0)
            {
                DeleteSnapshotCore(_snapshots.Count - 1, progress, cancellationToken);
            }
            return;
        }
        if (header.VolumeId != _volumeId || header.Generation != _generation)
        {
            return; // identity errors are not forced away
        }
        int baseIndex = _snapshots.FindIndex(s => s.Info.Id == header.FromSnapshotId);
        if (baseIndex < 0)
        {
            return;
        }
        while (_snapshots.Count - 1 > baseIndex)
        {
            DeleteSnapshotCore(_snapshots.Count - 1, progress, cancellationToken);
        }
        if (_size != _snapshots[baseIndex].Info.Size || BuildChangeBits(baseIndex, _snapshots.Count, _size, _size).PopCount() > 0)
        {
            RollbackCore(_snapshots[baseIndex], progress, cancellationToken);
        }
    }

    private void CheckImportTarget(DeltaStreamHeader header)
    {
        if (_snapshots.Any(s => s.Info.Id == header.ToSnapshotId))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.DuplicateImport,
                $"The stream was already imported: volume '{_name}' has its snapshot '{header.ToName}' ({header.ToSnapshotId}).");
        }
        if (header.IsFull)
        {
            if (_snapshots.Count > 0)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.WrongBase,
                    $"A full stream needs a target without snapshots, and volume '{_name}' has {_snapshots.Count}; use Force to replace them.");
            }
            return;
        }
        if (header.VolumeId != _volumeId)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.ForeignVolume,
                $"The stream belongs to volume {header.VolumeId}; the target '{_name}' is volume {_volumeId}.");
        }
        if (header.Generation != _generation)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.GenerationMismatch,
                $"The stream belongs to generation {header.Generation} of volume {header.VolumeId}; the target '{_name}' is at generation {_generation} (re-created).");
        }
        if (_snapshots.Count == 0)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.WrongBase,
                $"The stream is an incremental from snapshot '{header.FromName}' ({header.FromSnapshotId}), but volume '{_name}' has no snapshot.");
        }
        SnapshotState newest = _snapshots[^1];
        if (newest.Info.Id != header.FromSnapshotId)
        {
            bool present = _snapshots.Any(s => s.Info.Id == header.FromSnapshotId);
            throw new SnapshotToolsException(SnapshotErrorCode.WrongBase,
                $"The stream is an incremental from snapshot '{header.FromName}' ({header.FromSnapshotId}), but the newest snapshot of volume '{_name}' is '{newest.Info.Name}' ({newest.Info.Id})"
                + (present ? "; the base exists on the target, so Force can roll back to it." : "; the target does not have the base."));
        }
        if (newest.Info.Size != header.FromSize)
        {
            throw SnapshotToolsException.SizeMismatch($"base snapshot '{newest.Info.Name}' of volume '{_name}'", header.FromSize, newest.Info.Size);
        }
        long changed = BuildChangeBits(_snapshots.Count - 1, _snapshots.Count, newest.Info.Size, _size).PopCount();
        if (changed > 0 || _size != newest.Info.Size)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.TargetModified,
                $"Volume '{_name}' changed since its snapshot '{newest.Info.Name}' ({changed} chunk(s) written); use Force to roll it back before importing.");
        }
        if (TryFindByName(header.ToName) >= 0)
        {
            throw SnapshotToolsException.NameInUse(header.ToName, _name);
        }
    }
}
