using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>
/// The write-back window of the copy-on-write path. Copying a chunk on its first write after a snapshot needs the
/// before-image durable before the new data may reach the live file; syncing the store for every request would cost
/// two fsyncs per write. Instead, the live writes to chunks preserved since the last store sync are held in memory
/// (bounded by <see cref="WriteBackLimit"/>) and the store is synced once for all of them, then the held chunks are
/// written. Held writes are acknowledged writes that are not yet durable, exactly like any write before Flush: a crash
/// loses them or keeps them, never tears a snapshot.
/// </summary>
/// <remarks>
/// The window is double-buffered. Writers fill one half (<c>_filling</c>); when it holds half the limit, it becomes the
/// syncing half and a background drain syncs the stores and then writes its held chunks, each under its chunk's stripe
/// lock, while writers go on filling the other half. Every image in the syncing half was added after its record's
/// append returned, and so before the drain's sync began: the sync covers it. A failed background drain leaves its
/// images held; the next drain (a writer's, or any structural operation's) retries synchronously and reports the error.
/// </remarks>
public sealed partial class Volume
{
    /// <summary>The default bound of held copy-on-write chunks (64 MiB).</summary>
    public const long DefaultWriteBackBytes = 64L * 1024 * 1024;

    private readonly object _pendingGate = new();
    private readonly object _swapGate = new();
    private Dictionary<long, byte[]> _filling = new();
    private Dictionary<long, byte[]> _syncing = new();
    private long _fillingBytes;
    private long _syncingBytes;
    private Task? _drainTask;
    private readonly Stack<byte[]> _imagePool = new();
    private long _rentsSinceTrim;

    /// <summary>Tests set this: images returned to the pool are overwritten, so any use after return is caught.</summary>
    internal static bool PoisonPooledImages { get; set; }
    private long _writeBackLimit = DefaultWriteBackBytes;

    /// <summary>
    /// Gets or sets the most bytes of copy-on-write chunks held in memory before the store is synced and they are
    /// written; 0 syncs the store on every request (slower, same guarantees).
    /// </summary>
    public long WriteBackLimit
    {
        get => _writeBackLimit;
        set
        {
            if (value < 0)
            {
                throw SnapshotToolsException.Invalid("write-back limit", "it is negative");
            }
            EnterWrite();
            try
            {
                DrainPendingCore();
                _writeBackLimit = value;
            }
            finally
            {
                _structure.ExitWriteLock();
            }
        }
    }

    private bool HasPending => Interlocked.Read(ref _fillingBytes) > 0 || Interlocked.Read(ref _syncingBytes) > 0;

    /// <summary>Whether the filling half holds enough to hand to a background drain.</summary>
    private bool WindowFull => Interlocked.Read(ref _fillingBytes) >= Math.Max(1, _writeBackLimit / 2);

    /// <summary>
    /// A chunk-size buffer for a held image, from the pool of drained ones: held images live long enough to be
    /// promoted by the GC, and allocating one per copied chunk cost a quarter of the copy-on-write time in collections.
    /// Its contents are stale; the caller overwrites all of it.
    /// </summary>
    private byte[] RentImage()
    {
        Interlocked.Increment(ref _rentsSinceTrim);
        lock (_imagePool)
        {
            if (_imagePool.Count > 0)
            {
                return _imagePool.Pop();
            }
        }
        return new byte[_chunkSize];
    }

    /// <summary>
    /// Returns drained images to the pool: only images no longer reachable through the window. The pool keeps at most
    /// half the window's bytes (one half's worth: what the next window takes from it).
    /// </summary>
    private void ReturnImages(IEnumerable<byte[]> images)
    {
        foreach (byte[] image in images)
        {
            if (!ReturnImage(image))
            {
                break;
            }
        }
    }

    private bool ReturnImage(byte[] image)
    {
        long cap = _writeBackLimit / 2 / _chunkSize + BatchChunks;
        lock (_imagePool)
        {
            if (_imagePool.Count >= cap || image.Length != _chunkSize)
            {
                return false;
            }
            if (PoisonPooledImages)
            {
                // Tests: a pooled image that is still read or written anywhere shows up as 0xDB bytes.
                image.AsSpan().Fill(0xDB);
            }
            _imagePool.Push(image);
            return true;
        }
    }

    /// <summary>
    /// Called at every Flush: lets the pool go when no image was taken since the previous Flush, so an idle volume
    /// does not keep up to half a window of buffers; a volume copying chunks between flushes keeps its pool.
    /// </summary>
    private void TrimImagePool()
    {
        if (Interlocked.Exchange(ref _rentsSinceTrim, 0) == 0)
        {
            lock (_imagePool)
            {
                _imagePool.Clear();
            }
        }
    }

    /// <summary>Copies part of held chunk <paramref name="c"/> into <paramref name="part"/>, if it is held.</summary>
    /// <remarks>The copy is made under the window's lock: a drained image may go back to the pool right after.</remarks>
    private bool TryReadPending(long c, int within, Span<byte> part)
    {
        lock (_pendingGate)
        {
            if (FindHeld(c, out byte[] image))
            {
                image.AsSpan(within, part.Length).CopyTo(part);
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// Gets the held image of chunk <paramref name="c"/> for a caller that holds the chunk's stripe lock (only that
    /// lock keeps the image from being drained and reused while the caller uses it).
    /// </summary>
    private bool TryGetPending(long c, out byte[] image)
    {
        lock (_pendingGate)
        {
            return FindHeld(c, out image);
        }
    }

    /// <summary>Looks chunk <paramref name="c"/> up in both halves of the window. Caller holds <c>_pendingGate</c>.</summary>
    private bool FindHeld(long c, out byte[] image) => _filling.TryGetValue(c, out image!) || _syncing.TryGetValue(c, out image!);

    /// <summary>Writes a held image to its chunk of the live file (not past the volume's end).</summary>
    private void WriteHeld(long c, byte[] image)
    {
        if (c < _dataMap.Count)
        {
            _live.Write(ChunkStart(c), image.AsSpan(0, (int)ChunkLength(c)));
        }
    }

    private void AddPending(long c, byte[] image)
    {
        lock (_pendingGate)
        {
            if (!_syncing.ContainsKey(c) && _filling.TryAdd(c, image))
            {
                Interlocked.Add(ref _fillingBytes, image.Length);
            }
            else
            {
                // Cannot happen (a chunk is preserved once per snapshot and the window drains before a new one);
                // the image is simply not held.
                return;
            }
        }
    }

    /// <summary>Reads part of chunk <paramref name="c"/> of the live volume's data: the held image, or the file.</summary>
    private void ReadLiveFile(long c, int within, Span<byte> part)
    {
        if (HasPending && TryReadPending(c, within, part))
        {
            return;
        }
        _live.Read(ChunkStart(c) + within, part);
    }

    /// <summary>Waits for a background drain to end (its failure, if any, stays for the next drain to retry).</summary>
    private void WaitForDrain()
    {
        Task? task = Volatile.Read(ref _drainTask);
        if (task == null)
        {
            return;
        }
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // Its images are still held; whoever drains next syncs again and reports what fails.
        }
        Volatile.Write(ref _drainTask, null);
    }

    /// <summary>
    /// Syncs the stores, then writes every held chunk to the live file. Caller excludes all writers (structure lock
    /// held exclusively, or every stripe).
    /// </summary>
    private void DrainPendingCore()
    {
        WaitForDrain();
        // Records without held images (zero, unmapped, excluded chunks) must be durable before any metadata write
        // too, so the stores are synced whether or not anything is held (a clean store costs nothing).
        foreach (SnapshotState s in _snapshots)
        {
            s.Log.Flush();
        }
        if (!HasPending)
        {
            return;
        }
        KeyValuePair<long, byte[]>[] held;
        lock (_pendingGate)
        {
            held = _syncing.Concat(_filling).ToArray();
        }
        Array.Sort(held, (x, y) => x.Key.CompareTo(y.Key));
        foreach (KeyValuePair<long, byte[]> pair in held)
        {
            WriteHeld(pair.Key, pair.Value);
        }
        lock (_pendingGate)
        {
            _syncing.Clear();
            _filling.Clear();
            Interlocked.Exchange(ref _syncingBytes, 0);
            Interlocked.Exchange(ref _fillingBytes, 0);
        }
        ReturnImages(held.Select(pair => pair.Value));
    }

    /// <summary>
    /// From a writer's thread (holding the structure lock shared and no stripe), when the filling half is full: hands
    /// it to a background drain once the previous one has ended. After a failed background drain, drains
    /// synchronously instead, so that the writer sees the error.
    /// </summary>
    private void DrainPending()
    {
        lock (_swapGate)
        {
            if (!WindowFull)
            {
                return;
            }
            WaitForDrain();
            if (Interlocked.Read(ref _syncingBytes) > 0)
            {
                // The last background drain failed: retry here, with every writer held off.
                DrainSynchronously();
                return;
            }
            PreservationLog[] logs = _snapshots.Select(s => s.Log).ToArray();
            lock (_pendingGate)
            {
                (_syncing, _filling) = (_filling, _syncing);
                Interlocked.Exchange(ref _syncingBytes, Interlocked.Exchange(ref _fillingBytes, 0));
            }
            Volatile.Write(ref _drainTask, Task.Run(() => DrainSyncing(logs)));
        }
    }

    private void DrainSynchronously()
    {
        ulong all = LockStripes(0, _stripes.Length);
        try
        {
            DrainPendingCore();
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            throw SnapshotToolsException.DiskFull(_name, ex);
        }
        finally
        {
            UnlockStripes(all);
        }
    }

    /// <summary>The background drain of the syncing half: sync the stores, then write each held chunk under its stripe.</summary>
    private void DrainSyncing(PreservationLog[] logs)
    {
        foreach (PreservationLog log in logs)
        {
            log.Flush();
        }
        long[] chunks;
        lock (_pendingGate)
        {
            chunks = _syncing.Keys.ToArray();
        }
        Array.Sort(chunks);
        foreach (long c in chunks)
        {
            object stripe = _stripes[(int)(c & 63)];
            lock (stripe)
            {
                byte[] image;
                lock (_pendingGate)
                {
                    image = _syncing[c];
                }
                // A writer holding this stripe cannot be changing the image now; after the write the file has it.
                WriteHeld(c, image);
                lock (_pendingGate)
                {
                    _syncing.Remove(c);
                    Interlocked.Add(ref _syncingBytes, -image.Length);
                }
                ReturnImage(image);
            }
        }
        if (chunks.Length > 0)
        {
            // The window's live writes have to reach the disk by the next Flush anyway: start that now, in the
            // background, rather than leave it all to the Flush.
            _live.StartWriteback(ChunkStart(chunks[0]), ChunkStart(chunks[^1]) + _chunkSize - ChunkStart(chunks[0]));
        }
    }
}
