using System.Buffers;
using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>Rollback: returning the live volume to a snapshot's contents from the preservation stores.</summary>
/// <remarks>
/// Only chunks changed since the snapshot (the union of the change maps from it to the newest) are rewritten, so
/// the cost follows the changes, not the volume size. The rewrites go through the copy-on-write path, so newer
/// snapshots keep reading exactly as before. The target is recorded in the metadata before the first chunk is
/// touched and cleared after the last is durable; a volume opened after a crash in between finishes the rollback
/// (it is idempotent: each chunk is set to the snapshot's content, which never changes) and says so in
/// <see cref="Recovery"/>. Excluded ranges of the snapshot (its protection map) are left as they are on the volume.
/// </remarks>
public sealed partial class Volume
{
    /// <summary>Rolls the live volume back to <paramref name="snapshot"/> (name or id).</summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, disk full, closed, or cancelled (the volume then
    /// holds a mix; reopening or rolling back again completes it).</exception>
    public RollbackResult Rollback(string snapshot, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        try
        {
            SnapshotState target = _snapshots[Find(snapshot)];
            long restored = RollbackCore(target, progress, cancellationToken);
            return new RollbackResult(target.Info, restored, _size);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>Performs a rollback. Caller holds the structure lock exclusively.</summary>
    private long RollbackCore(SnapshotState target, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        int index = _snapshots.IndexOf(target);
        // Check every before-image the rollback will copy before changing anything: a corrupt one then fails the
        // rollback with the volume untouched, instead of half way with the target recorded, which every later open
        // would retry and fail on (the volume could no longer be opened).
        VerifyRollbackSources(index, target, cancellationToken);
        _rollbackTarget = target.Info.Sequence;
        FlushCore(clean: false);

        if (_size != target.Info.Size)
        {
            ResizeCore(target.Info.Size);
        }
        // The size already equals the target's, so no chunk counts as changed merely by resizing.
        ChunkBitmap changed = BuildChangeBits(index, _snapshots.Count, target.Info.Size, target.Info.Size);
        long total = changed.PopCount();
        long done = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        var pieces = new List<ByteRange>();
        try
        {
            for (long c = changed.NextSet(0); c >= 0; c = changed.NextSet(c + 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                RestoreChunk(index, target, c, buffer, pieces);
                done++;
                if ((done & 63) == 0)
                {
                    progress?.Report(new OperationProgress($"Rolling back to '{target.Info.Name}'", done, total));
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled,
                $"The rollback to '{target.Info.Name}' was cancelled after {done} of {total} chunks; roll back again (or reopen the volume) to complete it.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _rollbackTarget = 0;
        FlushCore(clean: false);
        if (index == _snapshots.Count - 1 && target.Protected.IsEmpty)
        {
            // The live volume equals the newest snapshot again: nothing has changed since it. Dropping its records
            // is safe (every older snapshot that read through them now reads the same bytes from live; not so with
            // a protection map, whose ranges rollback leaves as they are) and keeps
            // the next differential from it empty. Metadata first, so a crash in between only over-reports.
            _clearingLog = target.Log;
            try
            {
                WriteMetadata(clean: false);
                target.Log.Clear();
            }
            finally
            {
                _clearingLog = null;
            }
        }
        progress?.Report(new OperationProgress($"Rolling back to '{target.Info.Name}'", total, total));
        return total;
    }

    private void RestoreChunk(int index, SnapshotState target, long c, byte[] buffer, List<ByteRange> pieces)
    {
        long cs = ChunkStart(c);
        long len = ChunkLength(c);
        pieces.Clear();
        target.Protected.Subtract(cs, len, pieces);
        if (pieces.Count == 0)
        {
            return;
        }
        PreservedKind kind = KindAsOf(index, c);
        bool whole = pieces.Count == 1 && pieces[0].Offset == cs && pieces[0].Length == len;
        switch (kind)
        {
            case PreservedKind.Data:
            {
                Span<byte> chunk = buffer.AsSpan(0, (int)len);
                ReadSnapshotCore(index, cs, chunk);
                foreach (ByteRange r in pieces)
                {
                    ChangeCore(r.Offset, r.Length, ChangeKind.Write, chunk.Slice((int)(r.Offset - cs), (int)r.Length));
                }
                break;
            }
            case PreservedKind.Zero:
            case PreservedKind.Unmapped:
            case PreservedKind.Excluded:
            {
                ChangeKind change = kind == PreservedKind.Zero ? ChangeKind.Zero : ChangeKind.Discard;
                if (whole)
                {
                    ChangeCore(cs, len, change, ReadOnlySpan<byte>.Empty);
                }
                else
                {
                    foreach (ByteRange r in pieces)
                    {
                        ChangeCore(r.Offset, r.Length, ChangeKind.Zero, ReadOnlySpan<byte>.Empty);
                    }
                }
                break;
            }
        }
    }

    /// <summary>Reads, and so verifies, every preserved chunk a rollback to snapshot <paramref name="index"/> will copy.</summary>
    /// <exception cref="SnapshotToolsException">A record or its data is corrupt, or the rollback was cancelled; nothing
    /// has been changed.</exception>
    private void VerifyRollbackSources(int index, SnapshotState target, CancellationToken cancellationToken)
    {
        long chunks = ChunkCountFor(target.Info.Size);
        var seen = new ChunkBitmap(chunks);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        try
        {
            for (int k = index; k < _snapshots.Count; k++)
            {
                foreach ((long c, PreservedKind kind) in _snapshots[k].Log.Entries())
                {
                    // The first record on the walk from the target toward the newest is the one the target reads.
                    if (c >= chunks || seen.Get(c))
                    {
                        continue;
                    }
                    seen.Set(c);
                    long cs = ChunkStart(c);
                    if (kind == PreservedKind.Data && !target.Protected.Covers(cs, Math.Min(_chunkSize, target.Info.Size - cs)))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        _snapshots[k].Log.ReadData(c, buffer.AsSpan(0, _chunkSize));
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled,
                $"The rollback to '{target.Info.Name}' was cancelled before it changed anything.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
