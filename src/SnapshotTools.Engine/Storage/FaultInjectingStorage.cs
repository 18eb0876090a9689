namespace SnapshotTools.Engine.Storage;

/// <summary>Thrown by <see cref="FaultInjectingStorage"/> at the injected crash point and after it.</summary>
public sealed class SimulatedCrashException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    public SimulatedCrashException(long operation)
        : base($"Simulated crash at storage operation {operation}.")
    {
        Operation = operation;
    }

    /// <summary>Gets the number of the operation that crashed.</summary>
    public long Operation { get; }
}

/// <summary>
/// Wraps a <see cref="MemoryStorage"/> and counts its mutating operations (writes, flushes, resizes). At operation
/// <see cref="CrashAtOperation"/> the operation is not performed and every later call throws
/// <see cref="SimulatedCrashException"/>, as if the machine lost power; <see cref="MemoryStorage.CrashImage"/> of
/// <see cref="Inner"/> then gives the disk as a reboot would find it. <see cref="FailWrite"/> injects errors such as
/// ENOSPC into chosen files.
/// </summary>
public sealed class FaultInjectingStorage : IStorage
{
    private long _operations;
    private volatile bool _crashed;

    /// <summary>Initializes a wrapper over <paramref name="inner"/>.</summary>
    public FaultInjectingStorage(MemoryStorage inner)
    {
        Inner = inner;
    }

    /// <summary>Gets the wrapped storage.</summary>
    public MemoryStorage Inner { get; }

    /// <summary>Gets or sets the 1-based operation number at which to crash; 0 never crashes.</summary>
    public long CrashAtOperation { get; set; }

    /// <summary>Gets the number of mutating operations seen so far.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>Gets whether the simulated crash happened.</summary>
    public bool Crashed => _crashed;

    /// <summary>Gets or sets a hook called with (file name, offset, length) before each write; it may throw.</summary>
    public Action<string, long, int>? FailWrite { get; set; }

    /// <summary>Gets or sets a hook called with the file name before each flush (fsync); it may throw.</summary>
    public Action<string>? FailFlush { get; set; }

    /// <inheritdoc />
    public string Location => Inner.Location;

    /// <inheritdoc />
    public bool Exists(string name)
    {
        ThrowIfCrashed();
        return Inner.Exists(name);
    }

    /// <inheritdoc />
    public IStorageFile Open(string name, bool create)
    {
        ThrowIfCrashed();
        return new Handle(this, name, Inner.Open(name, create));
    }

    /// <inheritdoc />
    public void Delete(string name)
    {
        Step();
        Inner.Delete(name);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> List()
    {
        ThrowIfCrashed();
        return Inner.List();
    }

    /// <inheritdoc />
    public IDisposable? TryLock() => Inner.TryLock();

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void ThrowIfCrashed()
    {
        if (_crashed)
        {
            throw new SimulatedCrashException(Operations);
        }
    }

    private void Step()
    {
        ThrowIfCrashed();
        long n = Interlocked.Increment(ref _operations);
        if (CrashAtOperation > 0 && n >= CrashAtOperation)
        {
            _crashed = true;
            throw new SimulatedCrashException(n);
        }
    }

    private sealed class Handle : IStorageFile
    {
        private readonly FaultInjectingStorage _owner;
        private readonly string _name;
        private readonly IStorageFile _inner;

        public Handle(FaultInjectingStorage owner, string name, IStorageFile inner)
        {
            _owner = owner;
            _name = name;
            _inner = inner;
        }

        public long Length
        {
            get
            {
                _owner.ThrowIfCrashed();
                return _inner.Length;
            }
        }

        public void SetLength(long length)
        {
            _owner.Step();
            _inner.SetLength(length);
        }

        public void Read(long offset, Span<byte> buffer)
        {
            _owner.ThrowIfCrashed();
            _inner.Read(offset, buffer);
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            _owner.Step();
            _owner.FailWrite?.Invoke(_name, offset, data.Length);
            _inner.Write(offset, data);
        }

        public void Flush()
        {
            _owner.Step();
            _owner.FailFlush?.Invoke(_name);
            _inner.Flush();
        }

        public void Dispose() => _inner.Dispose();
    }
}
