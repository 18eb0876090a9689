using System.Buffers;
using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>Snapshots (create, find, rename, delete), the protection map and resizing.</summary>
public sealed partial class Volume
{
    /// <summary>Takes a snapshot of the live volume. Every completed write is made durable first.</summary>
    /// <exception cref="SnapshotToolsException">The name is empty or already used, the disk is full, or closed.</exception>
    public SnapshotInfo CreateSnapshot(string name, string? description = null)
    {
        ValidateName(name);
        EnterWrite();
        try
        {
            return CreateSnapshotCore(name, description, Guid.NewGuid(), DateTimeOffset.UtcNow);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>Creates a snapshot with a given id and time. Caller holds the structure lock exclusively.</summary>
    private SnapshotInfo CreateSnapshotCore(string name, string? description, Guid id, DateTimeOffset createdUtc)
    {
        if (TryFindByName(name) >= 0)
        {
            throw SnapshotToolsException.NameInUse(name, _name);
        }
        FlushCore(clean: false);
        long sequence = _nextSequence;
        PreservationLog log;
        try
        {
            log = PreservationLog.Create(_storage, _volumeId, id, sequence, _chunkSize, ChunkCountFor(_size));
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            throw SnapshotToolsException.DiskFull(_name, ex);
        }
        var info = new SnapshotInfo(_volumeId, _generation, id, sequence, name.Trim(), createdUtc, _size, description, _protected.Ranges.ToArray());
        _snapshots.Add(new SnapshotState(info, log, _protected));
        _nextSequence = sequence + 1;
        RecomputeNoPreserve();
        try
        {
            WriteMetadata(clean: false);
        }
        catch
        {
            // Not durable: the snapshot does not exist. Its empty files are removed at the next open.
            _snapshots.RemoveAt(_snapshots.Count - 1);
            _nextSequence = sequence;
            RecomputeNoPreserve();
            log.Dispose();
            throw;
        }
        // Committed: the previous newest log takes no more copy-on-write records.
        SettleIndexForms();
        return info;
    }

    /// <summary>Finds a snapshot by name (case-insensitive) or id.</summary>
    /// <exception cref="SnapshotToolsException">No such snapshot.</exception>
    public SnapshotInfo GetSnapshot(string nameOrId)
    {
        EnterRead();
        try
        {
            return _snapshots[Find(nameOrId)].Info;
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Finds a snapshot by name or id, or returns null.</summary>
    public SnapshotInfo? TryGetSnapshot(string nameOrId)
    {
        EnterRead();
        try
        {
            int i = TryFind(nameOrId);
            return i < 0 ? null : _snapshots[i].Info;
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Renames a snapshot.</summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, or the new name is empty or used.</exception>
    public SnapshotInfo RenameSnapshot(string nameOrId, string newName)
    {
        ValidateName(newName);
        EnterWrite();
        try
        {
            int i = Find(nameOrId);
            int clash = TryFindByName(newName);
            if (clash >= 0 && clash != i)
            {
                throw SnapshotToolsException.NameInUse(newName, _name);
            }
            SnapshotInfo old = _snapshots[i].Info;
            _snapshots[i].Info = old with { Name = newName.Trim() };
            try
            {
                // Flush, not just the metadata: the metadata carries the in-use maps, which must never reach the disk
                // before the live writes they describe (a chunk marked in use whose write was lost reads stale bytes).
                FlushCore(clean: false);
            }
            catch
            {
                _snapshots[i].Info = old;
                throw;
            }
            return _snapshots[i].Info;
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>
    /// Deletes a snapshot: oldest, newest or in the middle. Its before-images that the next older snapshot still
    /// needs move into that snapshot's store first, so every remaining snapshot reads exactly as before.
    /// </summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, disk full (nothing is deleted), or closed.</exception>
    public void DeleteSnapshot(string nameOrId, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        try
        {
            DeleteSnapshotCore(Find(nameOrId), progress, cancellationToken);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>Deletes snapshot <paramref name="index"/>. Caller holds the structure lock exclusively.</summary>
    private void DeleteSnapshotCore(int index, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        // Held writes are guarded by the victim's store only while it is listed: sync and write them first.
        DrainPendingCore();
        SnapshotState victim = _snapshots[index];
        if (index > 0)
        {
            try
            {
                MergeInto(_snapshots[index - 1], victim, progress, cancellationToken);
            }
            catch
            {
                // Publishing the merged records may have thawed the older log.
                SettleIndexForms();
                throw;
            }
        }
        _snapshots.RemoveAt(index);
        RecomputeNoPreserve();
        try
        {
            FlushCore(clean: false);
        }
        catch
        {
            _snapshots.Insert(index, victim);
            RecomputeNoPreserve();
            SettleIndexForms();
            throw;
        }
        // The merge thawed the older log; freeze it again unless it is now the newest (which takes copy-on-write
        // records, so it is thawed if it was not).
        SettleIndexForms();
        victim.Log.Dispose();
        _storage.Delete(PreservationLog.IndexName(victim.Info.Sequence));
        _storage.Delete(PreservationLog.DataName(victim.Info.Sequence));
    }

    /// <summary>
    /// Sets the live protection map: byte ranges excluded from snapshots taken from now on (they read as zeros there)
    /// and from deltas to the live volume. Existing snapshots keep the map they were taken with.
    /// </summary>
    public void SetProtectedRanges(IEnumerable<ByteRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        RangeSet set = RangeSet.Create(ranges);
        EnterWrite();
        try
        {
            RangeSet old = _protected;
            _protected = set;
            try
            {
                FlushCore(clean: false);
            }
            catch
            {
                _protected = old;
                throw;
            }
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>
    /// Grows or shrinks the volume. Snapshots keep their sizes: before shrinking, every chunk past the new end is
    /// preserved for the newest snapshot. Grown space reads as zeros and is not in use.
    /// </summary>
    /// <exception cref="SnapshotToolsException">Invalid size, disk full (nothing changes), or closed.</exception>
    public void Resize(long newSize)
    {
        if (newSize <= 0)
        {
            throw SnapshotToolsException.Invalid("size", $"{newSize} must be greater than zero");
        }
        EnterWrite();
        try
        {
            ResizeCore(newSize);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    private void ResizeCore(long newSize)
    {
        DrainPendingCore();
        long oldSize = _size;
        if (newSize == oldSize)
        {
            return;
        }
        long oldChunks = ChunkCountFor(oldSize);
        long newChunks = ChunkCountFor(newSize);
        if (newSize < oldSize)
        {
            // Preserve everything from the chunk holding the new end: the newest snapshot may still read it.
            long first = newSize >> _chunkShift;
            for (long b0 = first; b0 < oldChunks; b0 += BatchChunks)
            {
                long b1 = Math.Min(oldChunks - 1, b0 + BatchChunks - 1);
                try
                {
                    PreserveBatch(b0, b1, ChunkStart(b0), Math.Min(oldSize, ChunkStart(b1 + 1)), ChangeKind.Write);
                }
                catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
                {
                    throw SnapshotToolsException.DiskFull(_name, ex);
                }
            }
        }
        ChunkBitmap oldData = _dataMap;
        ChunkBitmap oldZero = _zeroMap;
        var data = new ChunkBitmap(oldChunks, (ulong[])oldData.Words.Clone());
        var zero = new ChunkBitmap(oldChunks, (ulong[])oldZero.Words.Clone());
        data.Resize(newChunks);
        zero.Resize(newChunks);
        _dataMap = data;
        _zeroMap = zero;
        Volatile.Write(ref _size, newSize);
        try
        {
            // Metadata first, then the file: after a crash in between, open trims or extends the file to the size.
            WriteMetadata(clean: false);
        }
        catch
        {
            _dataMap = oldData;
            _zeroMap = oldZero;
            Volatile.Write(ref _size, oldSize);
            throw;
        }
        if (newSize < oldSize)
        {
            _live.SetLength(newSize);
        }
        else
        {
            // The file ends at the old size, so everything past it reads as zeros once extended.
            _live.SetLength(oldSize);
            _live.SetLength(newSize);
        }
        _live.Flush();
    }

    /// <summary>Returns the preservation log of a snapshot (for tests).</summary>
    internal PreservationLog LogOf(string nameOrId)
    {
        EnterRead();
        try
        {
            return _snapshots[Find(nameOrId)].Log;
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>
    /// Gives every snapshot's log the in-memory index form it should have: frozen (compressed, immutable) for all but
    /// the newest, mutable for the newest, the only one copy-on-write appends to. Cheap when nothing changes.
    /// Caller holds the structure lock exclusively (or is opening the volume).
    /// </summary>
    private void SettleIndexForms()
    {
        for (int k = 0; k < _snapshots.Count; k++)
        {
            if (k < _snapshots.Count - 1)
            {
                _snapshots[k].Log.Freeze();
            }
            else
            {
                _snapshots[k].Log.Thaw();
            }
        }
    }

    /// <summary>Moves the records of <paramref name="victim"/> that <paramref name="older"/> lacks into it.</summary>
    /// <remarks>Runs of consecutive chunks (up to a write batch) are appended with one call each, so their data goes
    /// out as one write per run.</remarks>
    private void MergeInto(SnapshotState older, SnapshotState victim, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        long limit = ChunkCountFor(older.Info.Size);
        List<(long Chunk, PreservedKind Kind)> entries = victim.Log.Entries(); // ascending chunk order
        var moved = new List<(long Chunk, PreservedKind Kind)>();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BatchChunks * _chunkSize);
        var kinds = new PreservedKind[BatchChunks];
        try
        {
            long runFirst = -1;
            int runLength = 0;
            for (int e = 0; e < entries.Count; e++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (long chunk, PreservedKind kind) = entries[e];
                if (chunk >= limit || older.Log.Contains(chunk))
                {
                    continue;
                }
                if (runLength > 0 && (chunk != runFirst + runLength || runLength == BatchChunks))
                {
                    older.Log.AppendRange(runFirst, kinds.AsSpan(0, runLength), buffer.AsSpan(0, runLength * _chunkSize));
                    runLength = 0;
                }
                if (runLength == 0)
                {
                    runFirst = chunk;
                }
                if (kind == PreservedKind.Data)
                {
                    victim.Log.ReadData(chunk, buffer.AsSpan(runLength * _chunkSize, _chunkSize));
                }
                kinds[runLength++] = kind;
                moved.Add((chunk, kind));
                if (((e + 1) & 255) == 0)
                {
                    progress?.Report(new OperationProgress("Merging preserved chunks", e + 1, entries.Count));
                }
            }
            if (runLength > 0)
            {
                older.Log.AppendRange(runFirst, kinds.AsSpan(0, runLength), buffer.AsSpan(0, runLength * _chunkSize));
            }
            older.Log.Flush();
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            throw SnapshotToolsException.DiskFull(_name, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        // Published only now: until the merge is complete (and durable) the older snapshot reads through the victim,
        // with identical results.
        foreach ((long chunk, PreservedKind kind) in moved)
        {
            older.Log.Publish(chunk, kind);
        }
        progress?.Report(new OperationProgress("Merging preserved chunks", entries.Count, entries.Count));
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw SnapshotToolsException.Invalid("snapshot name", "it is empty");
        }
        if (name.Trim().Length > 255)
        {
            throw SnapshotToolsException.Invalid("snapshot name", "it is longer than 255 characters");
        }
    }

    private int TryFindByName(string name)
    {
        string trimmed = name.Trim();
        for (int i = 0; i < _snapshots.Count; i++)
        {
            if (string.Equals(_snapshots[i].Info.Name, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    private int TryFind(string nameOrId)
    {
        int i = TryFindByName(nameOrId);
        if (i >= 0)
        {
            return i;
        }
        if (Guid.TryParse(nameOrId, out Guid id))
        {
            return _snapshots.FindIndex(s => s.Info.Id == id);
        }
        return -1;
    }

    private int Find(string nameOrId)
    {
        ArgumentNullException.ThrowIfNull(nameOrId);
        int i = TryFind(nameOrId);
        return i >= 0 ? i : throw SnapshotToolsException.UnknownSnapshot(nameOrId, _name);
    }

    /// <summary>Finds a snapshot by info, checking that it belongs to this volume incarnation.</summary>
    private int Find(SnapshotInfo info)
    {
        if (info.VolumeId != _volumeId)
        {
            throw SnapshotToolsException.Foreign(_name, _volumeId, info.VolumeId);
        }
        if (info.Generation != _generation)
        {
            throw SnapshotToolsException.GenerationMismatch(_name, info.Generation, _generation);
        }
        int i = _snapshots.FindIndex(s => s.Info.Id == info.Id);
        if (i < 0)
        {
            throw SnapshotToolsException.UnknownSnapshot(info.Name, _name);
        }
        if (_snapshots[i].Info.Size != info.Size)
        {
            throw SnapshotToolsException.SizeMismatch($"snapshot '{info.Name}'", info.Size, _snapshots[i].Info.Size);
        }
        return i;
    }
}
