using System.Buffers;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>The read path: the live volume, and snapshots falling through toward newer snapshots and then live.</summary>
/// <remarks>
/// A read of snapshot N for chunk c looks in the preservation stores of N, N+1, ... up to the newest (seed 002
/// FIG. 27, seed 004 [0095]); the first record found is the content as of N. If none has c, c has not changed since
/// N and is read from the live volume. Live fall-through needs no lock against writers: a writer publishes the record
/// before it overwrites the live chunk, so a reader that found no record, read live, and still finds no record read
/// the unchanged chunk; if a record appeared meanwhile, the reader reads the record instead.
/// </remarks>
public sealed partial class Volume
{
    /// <summary>Reads <c>buffer.Length</c> bytes of the live volume at <paramref name="offset"/>.</summary>
    /// <exception cref="SnapshotToolsException">Out of range or closed.</exception>
    public void Read(long offset, Span<byte> buffer)
    {
        EnterRead();
        try
        {
            CheckRange(offset, buffer.Length, _size, "the volume");
            ReadLiveCore(offset, buffer);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Reads <c>buffer.Length</c> bytes of a snapshot at <paramref name="offset"/>.</summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, out of the snapshot's range, corrupt preserved data, or closed.</exception>
    public void ReadSnapshot(string snapshot, long offset, Span<byte> buffer)
    {
        EnterRead();
        try
        {
            ReadSnapshotCore(Find(snapshot), offset, buffer);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Reads a snapshot identified by its info (checked against this volume's identity).</summary>
    /// <exception cref="SnapshotToolsException">See <see cref="ReadSnapshot(string, long, Span{byte})"/>; also a foreign
    /// volume or an earlier generation.</exception>
    public void ReadSnapshot(SnapshotInfo snapshot, long offset, Span<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        EnterRead();
        try
        {
            ReadSnapshotCore(Find(snapshot), offset, buffer);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    private void ReadLiveCore(long offset, Span<byte> buffer)
    {
        long end = offset + buffer.Length;
        long pos = offset;
        while (pos < end)
        {
            long c = pos >> _chunkShift;
            bool data = _dataMap.Get(c);
            // Extend the run over following chunks of the same kind: one file read per run of data chunks.
            long runEnd = Math.Min(end, ChunkStart(c + 1));
            while (runEnd < end && _dataMap.Get(runEnd >> _chunkShift) == data)
            {
                runEnd = Math.Min(end, runEnd + _chunkSize);
            }
            Span<byte> part = buffer.Slice((int)(pos - offset), (int)(runEnd - pos));
            if (data && HasPending)
            {
                // Some chunks may be held in the write-back window: read chunk by chunk.
                for (long p = pos; p < runEnd;)
                {
                    long pc = p >> _chunkShift;
                    long pe = Math.Min(runEnd, ChunkStart(pc + 1));
                    ReadLiveFile(pc, (int)(p - ChunkStart(pc)), buffer.Slice((int)(p - offset), (int)(pe - p)));
                    p = pe;
                }
            }
            else if (data)
            {
                _live.Read(pos, part);
            }
            else
            {
                part.Clear();
            }
            pos = runEnd;
        }
    }

    /// <summary>Reads snapshot <paramref name="index"/>. Caller holds the structure lock.</summary>
    private void ReadSnapshotCore(int index, long offset, Span<byte> buffer)
    {
        SnapshotState snap = _snapshots[index];
        CheckRange(offset, buffer.Length, snap.Info.Size, $"snapshot '{snap.Info.Name}'");
        long end = offset + buffer.Length;
        byte[]? chunkBuffer = null;
        try
        {
            long pos = offset;
            while (pos < end)
            {
                long c = pos >> _chunkShift;
                long cs = ChunkStart(c);
                long stop = Math.Min(end, cs + _chunkSize);
                Span<byte> part = buffer.Slice((int)(pos - offset), (int)(stop - pos));
                ReadSnapshotChunk(index, c, (int)(pos - cs), part, ref chunkBuffer);
                pos = stop;
            }
        }
        finally
        {
            if (chunkBuffer != null)
            {
                ArrayPool<byte>.Shared.Return(chunkBuffer);
            }
        }
        snap.Protected.Mask(offset, buffer);
    }

    /// <summary>Reads bytes [within, within + part.Length) of chunk <paramref name="c"/> as of snapshot <paramref name="index"/>.</summary>
    private void ReadSnapshotChunk(int index, long c, int within, Span<byte> part, ref byte[]? chunkBuffer)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (Resolve(index, c, out PreservationLog? log, out PreservedKind kind))
            {
                ReadPreserved(log!, c, kind, within, part, ref chunkBuffer);
                return;
            }
            if (c >= _dataMap.Count)
            {
                throw SnapshotToolsException.Corrupt($"volume '{_name}'", $"chunk {c} of a snapshot is neither preserved nor on the live volume");
            }
            if (_dataMap.Get(c))
            {
                ReadLiveFile(c, within, part);
            }
            else
            {
                part.Clear();
            }
            if (!Resolve(index, c, out _, out _))
            {
                return;
            }
            // A writer preserved the chunk while we read it: read the preserved copy instead.
        }
    }

    private void ReadPreserved(PreservationLog log, long c, PreservedKind kind, int within, Span<byte> part, ref byte[]? chunkBuffer)
    {
        if (kind != PreservedKind.Data)
        {
            // Zero, unmapped and excluded chunks all read as zeros.
            part.Clear();
            return;
        }
        chunkBuffer ??= ArrayPool<byte>.Shared.Rent(_chunkSize);
        Span<byte> chunk = chunkBuffer.AsSpan(0, _chunkSize);
        log.ReadData(c, chunk);
        chunk.Slice(within, part.Length).CopyTo(part);
    }

    /// <summary>Finds the first preservation record of chunk <paramref name="c"/> in snapshots index..newest.</summary>
    private bool Resolve(int index, long c, out PreservationLog? log, out PreservedKind kind)
    {
        for (int k = index; k < _snapshots.Count; k++)
        {
            if (_snapshots[k].Log.TryGet(c, out kind))
            {
                log = _snapshots[k].Log;
                return true;
            }
        }
        log = null;
        kind = PreservedKind.Void;
        return false;
    }

    /// <summary>The kind of chunk <paramref name="c"/> as of snapshot <paramref name="index"/> (or live when index is the count).</summary>
    private PreservedKind KindAsOf(int index, long c)
    {
        if (Resolve(index, c, out _, out PreservedKind kind))
        {
            return kind;
        }
        if (c >= _dataMap.Count)
        {
            throw SnapshotToolsException.Corrupt($"volume '{_name}'", $"chunk {c} of a snapshot is neither preserved nor on the live volume");
        }
        return LiveKind(c);
    }
}
