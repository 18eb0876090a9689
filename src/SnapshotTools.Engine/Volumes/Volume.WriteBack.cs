namespace SnapshotTools.Engine;

/// <summary>
/// The write-back window of the copy-on-write path. Copying a chunk on its first write after a snapshot needs the
/// before-image durable before the new data may reach the live file; syncing the store for every request would cost
/// two fsyncs per write. Instead, the live writes to chunks preserved since the last store sync are held in memory
/// (bounded by <see cref="WriteBackLimit"/>) and the store is synced once for all of them, then the held chunks are
/// written (<see cref="DrainPendingCore"/>). Held writes are acknowledged writes that are not yet durable, exactly
/// like any write before Flush: a crash loses them or keeps them, never tears a snapshot.
/// </summary>
public sealed partial class Volume
{
    /// <summary>The default bound of held copy-on-write chunks (64 MiB).</summary>
    public const long DefaultWriteBackBytes = 64L * 1024 * 1024;

    private readonly object _pendingGate = new();
    private readonly Dictionary<long, byte[]> _pending = new();
    private long _pendingBytes;
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

    private bool HasPending => Interlocked.Read(ref _pendingBytes) > 0;

    private bool TryGetPending(long c, out byte[] image)
    {
        lock (_pendingGate)
        {
            return _pending.TryGetValue(c, out image!);
        }
    }

    private void AddPending(long c, byte[] image)
    {
        lock (_pendingGate)
        {
            if (_pending.TryAdd(c, image))
            {
                Interlocked.Add(ref _pendingBytes, image.Length);
            }
        }
    }

    /// <summary>Reads part of chunk <paramref name="c"/> of the live volume's data: the held image, or the file.</summary>
    private void ReadLiveFile(long c, int within, Span<byte> part)
    {
        if (HasPending && TryGetPending(c, out byte[] image))
        {
            image.AsSpan(within, part.Length).CopyTo(part);
            return;
        }
        _live.Read(ChunkStart(c) + within, part);
    }

    /// <summary>Syncs the stores, then writes every held chunk to the live file. Caller excludes all writers.</summary>
    private void DrainPendingCore()
    {
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
            held = _pending.ToArray();
        }
        Array.Sort(held, (x, y) => x.Key.CompareTo(y.Key));
        foreach (KeyValuePair<long, byte[]> pair in held)
        {
            if (pair.Key < _dataMap.Count)
            {
                _live.Write(ChunkStart(pair.Key), pair.Value.AsSpan(0, (int)ChunkLength(pair.Key)));
            }
        }
        lock (_pendingGate)
        {
            _pending.Clear();
            Interlocked.Exchange(ref _pendingBytes, 0);
        }
    }

    /// <summary>Drains the window from a writer's thread (holding no stripe), when it is full.</summary>
    private void DrainPending()
    {
        ulong all = LockStripes(0, _stripes.Length);
        try
        {
            if (Interlocked.Read(ref _pendingBytes) >= Math.Max(1, _writeBackLimit))
            {
                try
                {
                    DrainPendingCore();
                }
                catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
                {
                    throw SnapshotToolsException.DiskFull(_name, ex);
                }
            }
        }
        finally
        {
            UnlockStripes(all);
        }
    }
}
