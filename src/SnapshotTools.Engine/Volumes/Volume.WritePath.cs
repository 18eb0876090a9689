using System.Buffers;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>The write path: Write, Discard, WriteZeroes and the copy-on-write that guards every snapshot.</summary>
/// <remarks>
/// Ordering (seed 001 Figure 4, seed 002 FIG. 26): for each chunk a request changes, if the newest snapshot has no
/// record of it yet, (1) the chunk's current content is appended to that snapshot's preservation store with a
/// checksummed record, (2) the record is published in memory, and (3) the live write goes into a held image instead of
/// the file (the write-back window, Volume.WriteBack.cs). Only after the store is fsynced does a drain write the held
/// image to the live file. A crash before that sync loses only records whose live writes never reached the file. With
/// <see cref="WriteBackLimit"/> 0 the store is fsynced between (1) and (2) and the live file written directly. The
/// in-use maps change in memory with the write and become durable with the metadata at the next Flush, after the live
/// file is fsynced, so a crash leaves each unflushed change either applied or not.
/// </remarks>
public sealed partial class Volume
{
    private const int BatchChunks = 64;

    private enum ChangeKind
    {
        Write,
        Zero,
        Discard,
    }

    /// <summary>Writes <paramref name="data"/> at byte <paramref name="offset"/>.</summary>
    /// <exception cref="SnapshotToolsException">Out of range, disk full, or closed.</exception>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Change(offset, data.Length, ChangeKind.Write, data);
    }

    /// <summary>Discards (trims) a range: it reads as zeros and whole chunks in it are no longer in use.</summary>
    /// <exception cref="SnapshotToolsException">Out of range, disk full, or closed.</exception>
    public void Discard(long offset, long length)
    {
        Change(offset, length, ChangeKind.Discard, ReadOnlySpan<byte>.Empty);
    }

    /// <summary>Writes zeros over a range; whole chunks in it become zero chunks (not in use, allocated).</summary>
    /// <exception cref="SnapshotToolsException">Out of range, disk full, or closed.</exception>
    public void WriteZeroes(long offset, long length)
    {
        Change(offset, length, ChangeKind.Zero, ReadOnlySpan<byte>.Empty);
    }

    private void Change(long offset, long length, ChangeKind kind, ReadOnlySpan<byte> data)
    {
        EnterRead();
        try
        {
            CheckRange(offset, length, _size, "the volume");
            ChangeCore(offset, length, kind, data);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    private static void CheckRange(long offset, long length, long size, string what)
    {
        if (offset < 0 || length < 0 || offset > size || length > size - offset)
        {
            throw SnapshotToolsException.OutOfRange(offset, length, size, what);
        }
    }

    /// <summary>Applies a change in batches of chunks. Caller holds the structure lock (shared or exclusive).</summary>
    private void ChangeCore(long offset, long length, ChangeKind kind, ReadOnlySpan<byte> data)
    {
        if (length == 0)
        {
            return;
        }
        long end = offset + length;
        long first = offset >> _chunkShift;
        long last = (end - 1) >> _chunkShift;
        for (long b0 = first; b0 <= last; b0 += BatchChunks)
        {
            long b1 = Math.Min(last, b0 + BatchChunks - 1);
            long start = Math.Max(offset, ChunkStart(b0));
            long stop = Math.Min(end, ChunkStart(b1 + 1));
            ReadOnlySpan<byte> slice = kind == ChangeKind.Write ? data.Slice((int)(start - offset), (int)(stop - start)) : default;
            ulong stripes = LockStripes(b0, b1);
            try
            {
                PreserveBatch(b0, b1, start, stop, kind);
                ApplyBatch(b0, b1, start, stop, kind, slice);
            }
            catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
            {
                throw SnapshotToolsException.DiskFull(_name, ex);
            }
            finally
            {
                UnlockStripes(stripes);
            }
            if (WindowFull)
            {
                DrainPending();
            }
        }
    }

    /// <summary>
    /// Copy-on-write for the chunks of one batch that the newest snapshot has not preserved yet: their before-images
    /// are read with one live read per run of data chunks and appended with one <see cref="PreservationLog.AppendRange"/>.
    /// With a write-back window the records are published at once but synced later (<see cref="DrainPendingCore"/>):
    /// every data chunk preserved here gets a held image, so its live write cannot reach the file before its
    /// before-image is durable. Without one (limit 0) the store is synced here, before the live write.
    /// </summary>
    private void PreserveBatch(long b0, long b1, long start, long stop, ChangeKind kind)
    {
        if (_snapshots.Count == 0)
        {
            return;
        }
        SnapshotState newest = _snapshots[^1];
        PreservationLog log = newest.Log;
        int n = (int)(Math.Min(b1 + 1, ChunkCountFor(newest.Info.Size)) - b0);
        if (n <= 0)
        {
            return;
        }
        bool defer = _writeBackLimit > 0;
        Span<PreservedKind> kinds = stackalloc PreservedKind[BatchChunks];
        kinds = kinds.Slice(0, n);
        int records = 0;
        bool anyData = false;
        for (int i = 0; i < n; i++)
        {
            long c = b0 + i;
            kinds[i] = PreservedKind.Void;
            if (log.Contains(c))
            {
                continue;
            }
            PreservedKind state = LiveKind(c);
            if (!Changes(c, start, stop, kind, state))
            {
                continue;
            }
            if (state == PreservedKind.Data && _protectionMode == ProtectionMode.DoNotPreserve
                && _noPreserve.Covers(ChunkStart(c), ChunkLength(c)))
            {
                state = PreservedKind.Excluded;
            }
            // Zero, unmapped and excluded chunks protect no bytes of the live file: only the in-use bits change, and
            // those reach the disk in a metadata write, after the store is synced.
            kinds[i] = state;
            records++;
            anyData |= state == PreservedKind.Data;
        }
        if (records == 0)
        {
            return;
        }
        byte[]? buffer = anyData ? ArrayPool<byte>.Shared.Rent(n * _chunkSize) : null;
        try
        {
            Span<byte> images = buffer == null ? Span<byte>.Empty : buffer.AsSpan(0, n * _chunkSize);
            if (buffer != null)
            {
                ReadBeforeImages(b0, kinds, images);
            }
            log.AppendRange(b0, kinds, images);
            if (!defer)
            {
                log.Flush();
            }
            for (int i = 0; i < n; i++)
            {
                if (kinds[i] == PreservedKind.Void)
                {
                    continue;
                }
                if (defer && kinds[i] == PreservedKind.Data)
                {
                    // The held image the live write goes into until the store is synced starts as the before-image.
                    byte[] image = RentImage();
                    images.Slice(i * _chunkSize, _chunkSize).CopyTo(image);
                    AddPending(b0 + i, image);
                }
                log.Publish(b0 + i, kinds[i]);
            }
        }
        finally
        {
            if (buffer != null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// Reads the live content of the data chunks among <paramref name="kinds"/> (chunk <c>b0 + i</c> into slot i of
    /// <paramref name="images"/>, zero-padded past the volume end): one file read per run of consecutive data chunks,
    /// then any held write-back image laid over its chunk. Caller holds the chunks' stripes.
    /// </summary>
    private void ReadBeforeImages(long b0, ReadOnlySpan<PreservedKind> kinds, Span<byte> images)
    {
        bool held = HasPending;
        for (int i = 0; i < kinds.Length;)
        {
            if (kinds[i] != PreservedKind.Data)
            {
                i++;
                continue;
            }
            int j = i + 1;
            while (j < kinds.Length && kinds[j] == PreservedKind.Data)
            {
                j++;
            }
            long cs = ChunkStart(b0 + i);
            Span<byte> run = images.Slice(i * _chunkSize, (j - i) * _chunkSize);
            int inside = (int)Math.Min(run.Length, _size - cs);
            _live.Read(cs, run.Slice(0, inside));
            run.Slice(inside).Clear();
            if (held)
            {
                for (int k = i; k < j; k++)
                {
                    if (TryGetPending(b0 + k, out byte[] image))
                    {
                        int len = (int)ChunkLength(b0 + k);
                        image.AsSpan(0, len).CopyTo(images.Slice(k * _chunkSize));
                        images.Slice(k * _chunkSize + len, _chunkSize - len).Clear();
                    }
                }
            }
            i = j;
        }
    }

    /// <summary>Whether a change alters chunk <paramref name="c"/> (a trim of a chunk already unmapped does not).</summary>
    private bool Changes(long c, long start, long stop, ChangeKind kind, PreservedKind state)
    {
        if (kind == ChangeKind.Write)
        {
            return true;
        }
        bool whole = CoversChunk(c, start, stop);
        if (!whole)
        {
            return state == PreservedKind.Data;
        }
        return kind == ChangeKind.Discard ? state != PreservedKind.Unmapped : state != PreservedKind.Zero;
    }

    private void ApplyBatch(long b0, long b1, long start, long stop, ChangeKind kind, ReadOnlySpan<byte> data)
    {
        bool held = HasPending;
        if (kind == ChangeKind.Write)
        {
            bool direct = !held;
            for (long c = b0; c <= b1 && direct; c++)
            {
                direct = _dataMap.Get(c) || CoversChunk(c, start, stop);
            }
            if (direct)
            {
                _live.Write(start, data);
            }
            else
            {
                for (long c = b0; c <= b1; c++)
                {
                    long cs = ChunkStart(c);
                    long a = Math.Max(start, cs);
                    long z = Math.Min(stop, cs + _chunkSize);
                    ReadOnlySpan<byte> part = data.Slice((int)(a - start), (int)(z - a));
                    bool inUse = _dataMap.Get(c);
                    if (held && TryGetPending(c, out byte[]? image))
                    {
                        if (!inUse)
                        {
                            image.AsSpan().Clear();
                        }
                        part.CopyTo(image.AsSpan((int)(a - cs)));
                    }
                    else if (inUse || CoversChunk(c, start, stop))
                    {
                        _live.Write(a, part);
                    }
                    else
                    {
                        // A chunk not in use reads as zeros whatever the file holds: write it whole.
                        byte[] chunk = new byte[(int)ChunkLength(c)];
                        part.CopyTo(chunk.AsSpan((int)(a - cs)));
                        _live.Write(cs, chunk);
                    }
                }
            }
            for (long c = b0; c <= b1; c++)
            {
                _dataMap.Set(c);
                _zeroMap.Clear(c);
            }
            return;
        }

        byte[]? zeros = null;
        for (long c = b0; c <= b1; c++)
        {
            if (CoversChunk(c, start, stop))
            {
                // A held image stays held (a later write in this window still must not reach the file early); its
                // content no longer matters while the chunk is not in use.
                _dataMap.Clear(c);
                _zeroMap.Assign(c, kind == ChangeKind.Zero);
            }
            else if (_dataMap.Get(c))
            {
                long cs = ChunkStart(c);
                long a = Math.Max(start, cs);
                long z = Math.Min(stop, cs + _chunkSize);
                if (held && TryGetPending(c, out byte[]? image))
                {
                    image.AsSpan((int)(a - cs), (int)(z - a)).Clear();
                }
                else
                {
                    zeros ??= new byte[_chunkSize];
                    _live.Write(a, zeros.AsSpan(0, (int)(z - a)));
                }
            }
        }
    }

    /// <summary>Whether [start, stop) covers every byte of chunk <paramref name="c"/> that lies inside the volume.</summary>
    private bool CoversChunk(long c, long start, long stop)
    {
        long cs = ChunkStart(c);
        return start <= cs && stop >= cs + ChunkLength(c);
    }

    /// <summary>Gets the number of bytes of chunk <paramref name="c"/> inside the current volume size.</summary>
    private long ChunkLength(long c) => Math.Min(_chunkSize, _size - ChunkStart(c));

    private PreservedKind LiveKind(long c) =>
        _dataMap.Get(c) ? PreservedKind.Data : _zeroMap.Get(c) ? PreservedKind.Zero : PreservedKind.Unmapped;

    private ulong LockStripes(long b0, long b1)
    {
        ulong mask = 0;
        if (b1 - b0 + 1 >= _stripes.Length)
        {
            mask = ulong.MaxValue;
        }
        else
        {
            for (long c = b0; c <= b1; c++)
            {
                mask |= 1UL << (int)(c & 63);
            }
        }
        // Ascending stripe order everywhere: no two requests can deadlock.
        for (int i = 0; i < 64; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                Monitor.Enter(_stripes[i]);
            }
        }
        return mask;
    }

    private void UnlockStripes(ulong mask)
    {
        for (int i = 63; i >= 0; i--)
        {
            if ((mask & (1UL << i)) != 0)
            {
                Monitor.Exit(_stripes[i]);
            }
        }
    }
}
