namespace SnapshotTools.Engine.Storage;

/// <summary>
/// An in-memory volume folder for tests. Each file keeps its durable image (as of its last <c>Flush</c>) and the
/// writes issued since, so <see cref="CrashImage"/> can produce what a disk might hold after power loss: every
/// unflushed write independently kept, lost, or torn at a 512-byte sector boundary. Creating, deleting and
/// resizing files are durable at once.
/// </summary>
public sealed class MemoryStorage : IStorage
{
    private readonly object _gate = new();
    private readonly Dictionary<string, MemoryFile> _files = new(StringComparer.Ordinal);
    private bool _locked;

    /// <summary>Initializes an empty storage.</summary>
    public MemoryStorage(string location = "memory")
    {
        Location = location;
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <summary>Gets or sets the total bytes all files may occupy; a write beyond it fails like ENOSPC.</summary>
    public long CapacityBytes { get; set; } = long.MaxValue;

    /// <summary>Gets the bytes all files occupy now.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_gate)
            {
                long total = 0;
                foreach (MemoryFile f in _files.Values)
                {
                    total += f.Length;
                }
                return total;
            }
        }
    }

    /// <inheritdoc />
    public bool Exists(string name)
    {
        lock (_gate)
        {
            return _files.ContainsKey(name);
        }
    }

    /// <inheritdoc />
    public IStorageFile Open(string name, bool create)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(name, out MemoryFile? file))
            {
                if (!create)
                {
                    throw new FileNotFoundException($"No file '{name}' in {Location}.", name);
                }
                file = new MemoryFile(this);
                _files[name] = file;
            }
            return new Handle(file);
        }
    }

    /// <inheritdoc />
    public void Delete(string name)
    {
        lock (_gate)
        {
            _files.Remove(name);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> List()
    {
        lock (_gate)
        {
            return _files.Keys.ToArray();
        }
    }

    /// <inheritdoc />
    public IDisposable? TryLock()
    {
        lock (_gate)
        {
            if (_locked)
            {
                return null;
            }
            _locked = true;
            return new Releaser(this);
        }
    }

    /// <summary>Gets a copy of a file's current (visible) content, for tests that corrupt or inspect files.</summary>
    public byte[] ReadAllBytes(string name)
    {
        lock (_gate)
        {
            return _files[name].Snapshot();
        }
    }

    /// <summary>Replaces a file's content durably, for tests that corrupt files.</summary>
    public void WriteAllBytes(string name, byte[] content)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(name, out MemoryFile? file))
            {
                file = new MemoryFile(this);
                _files[name] = file;
            }
            file.Replace(content);
        }
    }

    /// <summary>
    /// Returns a new storage holding what the disk might contain after a crash now: durable content plus, for each
    /// unflushed write, the write applied, lost, or torn, chosen by <paramref name="random"/>.
    /// </summary>
    public MemoryStorage CrashImage(Random random)
    {
        lock (_gate)
        {
            var image = new MemoryStorage(Location) { CapacityBytes = CapacityBytes };
            foreach (KeyValuePair<string, MemoryFile> pair in _files)
            {
                var copy = new MemoryFile(image);
                copy.Replace(pair.Value.CrashContent(random));
                image._files[pair.Key] = copy;
            }
            return image;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void CheckCapacity(long growth)
    {
        if (growth > 0 && UsedBytesUnlocked() + growth > CapacityBytes)
        {
            throw new IOException("No space left on device", 28);
        }
    }

    private long UsedBytesUnlocked()
    {
        long total = 0;
        foreach (MemoryFile f in _files.Values)
        {
            total += f.Length;
        }
        return total;
    }

    private sealed class Releaser : IDisposable
    {
        private MemoryStorage? _owner;

        public Releaser(MemoryStorage owner) => _owner = owner;

        public void Dispose()
        {
            MemoryStorage? owner = Interlocked.Exchange(ref _owner, null);
            if (owner != null)
            {
                lock (owner._gate)
                {
                    owner._locked = false;
                }
            }
        }
    }

    private sealed class MemoryFile
    {
        private readonly MemoryStorage _owner;
        private byte[] _current = Array.Empty<byte>();
        private long _length;
        private byte[] _durable = Array.Empty<byte>();
        private long _durableLength;
        private readonly List<(long Offset, byte[] Data)> _pending = new();

        public MemoryFile(MemoryStorage owner) => _owner = owner;

        public long Length => _length;

        public void Read(long offset, Span<byte> buffer)
        {
            lock (_owner._gate)
            {
                buffer.Clear();
                if (offset >= _length)
                {
                    return;
                }
                int n = (int)Math.Min(buffer.Length, _length - offset);
                _current.AsSpan((int)offset, n).CopyTo(buffer);
            }
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            lock (_owner._gate)
            {
                long end = offset + data.Length;
                _owner.CheckCapacity(end - _length);
                EnsureLength(end);
                data.CopyTo(_current.AsSpan((int)offset));
                _pending.Add((offset, data.ToArray()));
            }
        }

        public void SetLength(long length)
        {
            lock (_owner._gate)
            {
                _owner.CheckCapacity(length - _length);
                if (length < _length)
                {
                    _current.AsSpan((int)length, (int)(_length - length)).Clear();
                }
                EnsureLength(length);
                _length = length;
                // Resizing is durable at once: apply it to the durable image as well.
                Array.Resize(ref _durable, (int)Math.Max(_durable.Length, length));
                if (length < _durableLength)
                {
                    _durable.AsSpan((int)length, (int)(_durableLength - length)).Clear();
                }
                _durableLength = length;
            }
        }

        public void Flush()
        {
            lock (_owner._gate)
            {
                _durable = _current.AsSpan(0, (int)_length).ToArray();
                _durableLength = _length;
                _pending.Clear();
            }
        }

        public byte[] Snapshot() => _current.AsSpan(0, (int)_length).ToArray();

        public void Replace(byte[] content)
        {
            _current = (byte[])content.Clone();
            _length = content.Length;
            _durable = (byte[])content.Clone();
            _durableLength = content.Length;
            _pending.Clear();
        }

        public byte[] CrashContent(Random random)
        {
            long length = _durableLength;
            foreach ((long offset, byte[] data) in _pending)
            {
                length = Math.Max(length, offset + data.Length);
            }
            length = Math.Min(length, _length);
            byte[] image = new byte[length];
            _durable.AsSpan(0, (int)Math.Min(_durableLength, length)).CopyTo(image);
            foreach ((long offset, byte[] data) in _pending)
            {
                if (offset >= length)
                {
                    continue;
                }
                int keep;
                switch (random.Next(3))
                {
                    case 0:
                        keep = 0;
                        break;
                    case 1:
                        keep = data.Length;
                        break;
                    default:
                        keep = Math.Min(data.Length, random.Next(0, data.Length / 512 + 1) * 512);
                        break;
                }
                keep = (int)Math.Min(keep, length - offset);
                data.AsSpan(0, keep).CopyTo(image.AsSpan((int)offset));
            }
            return image;
        }

        private void EnsureLength(long length)
        {
            if (length > _current.Length)
            {
                long capacity = Math.Max(length, Math.Min((long)_current.Length * 2, int.MaxValue));
                Array.Resize(ref _current, (int)capacity);
            }
            if (length > _length)
            {
                _length = length;
            }
        }
    }

    private sealed class Handle : IStorageFile
    {
        private readonly MemoryFile _file;

        public Handle(MemoryFile file) => _file = file;

        public long Length => _file.Length;

        public void SetLength(long length) => _file.SetLength(length);

        public void Read(long offset, Span<byte> buffer) => _file.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => _file.Write(offset, data);

        public void Flush() => _file.Flush();

        public void Dispose()
        {
        }
    }
}
