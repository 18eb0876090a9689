using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Volumes;

namespace SnapshotTools.Engine;

/// <summary>
/// A block volume with copy-on-write snapshots, kept in one folder (the embedded default store). This file holds
/// the lifecycle (create, open, close, delete) and the metadata; the write path is in <c>Volume.WritePath.cs</c>,
/// the read path in <c>Volume.ReadPath.cs</c>, snapshots in <c>Volume.Snapshots.cs</c>, the differential in
/// <c>Differential/VolumeDelta.cs</c> and rollback in <c>Volume.Rollback.cs</c>.
/// </summary>
/// <remarks>
/// Thread safety: reads and writes may be issued concurrently from many threads; writes to different chunks run in
/// parallel. Structural operations (snapshot create/delete/rename, resize, rollback, flush, dispose) are exclusive.
/// </remarks>
public sealed partial class Volume : IDisposable
{
    /// <summary>The smallest allowed chunk size (4 KiB).</summary>
    public const int MinChunkSize = 4 * 1024;
    /// <summary>The largest allowed chunk size (1 MiB).</summary>
    public const int MaxChunkSize = 1024 * 1024;
    /// <summary>The default chunk size (64 KiB).</summary>
    public const int DefaultChunkSize = 64 * 1024;
    internal const string LiveFileName = "live.dat";

    private readonly IStorage _storage;
    private readonly bool _ownsStorage;
    private readonly IDisposable _lock;
    private readonly IStorageFile _live;
    private readonly MetadataFile _metaFile;
    private readonly ReaderWriterLockSlim _structure = new(LockRecursionPolicy.NoRecursion);
    private readonly object[] _stripes;
    private readonly List<SnapshotState> _snapshots = new();
    private readonly int _chunkSize;
    private readonly int _chunkShift;
    private Guid _volumeId;
    private long _generation;
    private long _size;
    private string _name;
    private DateTimeOffset _createdUtc;
    private ProtectionMode _protectionMode;
    private long _nextSequence;
    private long _rollbackTarget;
    private RangeSet _protected = RangeSet.Empty;
    private RangeSet _noPreserve = RangeSet.Empty;
    private ChunkBitmap _dataMap;
    private ChunkBitmap _zeroMap;
    private bool _disposed;
    private PreservationLog? _clearingLog;

    private Volume(IStorage storage, bool ownsStorage, IDisposable fileLock, VolumeMetadata meta, MetadataFile metaFile)
    {
        _storage = storage;
        _ownsStorage = ownsStorage;
        _lock = fileLock;
        _metaFile = metaFile;
        _volumeId = meta.VolumeId;
        _generation = meta.Generation;
        _size = meta.Size;
        _chunkSize = meta.ChunkSize;
        _chunkShift = System.Numerics.BitOperations.Log2((uint)meta.ChunkSize);
        _name = meta.Name;
        _createdUtc = meta.CreatedUtc;
        _protectionMode = meta.ProtectionMode;
        _nextSequence = meta.NextSequence;
        _rollbackTarget = meta.RollbackTarget;
        _protected = RangeSet.Create(meta.ProtectedRanges);
        long chunks = ChunkCountFor(meta.Size);
        _dataMap = new ChunkBitmap(chunks, meta.DataMap);
        _zeroMap = new ChunkBitmap(chunks, meta.ZeroMap);
        _stripes = new object[64];
        for (int i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new object();
        }
        _live = storage.Open(LiveFileName, create: true);
        Recovery = new RecoveryReport(true, 0, null, Array.Empty<string>());
    }

    /// <summary>Gets the volume's display name.</summary>
    public string Name => _name;

    /// <summary>Gets where the volume lives (its folder).</summary>
    public string Location => _storage.Location;

    /// <summary>Gets the volume id; it survives re-creation.</summary>
    public Guid VolumeId => _volumeId;

    /// <summary>Gets the generation; re-creating the volume increments it.</summary>
    public long Generation => _generation;

    /// <summary>Gets the current size in bytes.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>Gets the chunk size in bytes: the unit of copy-on-write and change tracking.</summary>
    public int ChunkSize => _chunkSize;

    /// <summary>Gets when the volume (this generation) was created.</summary>
    public DateTimeOffset CreatedUtc => _createdUtc;

    /// <summary>Gets how excluded ranges are handled.</summary>
    public ProtectionMode ProtectionMode => _protectionMode;

    /// <summary>Gets the identity of this incarnation.</summary>
    public VolumeIdentity Identity => new(_volumeId, _generation, Size, _chunkSize);

    /// <summary>Gets what opening the volume found about the previous shutdown.</summary>
    public RecoveryReport Recovery { get; private set; }

    /// <summary>Gets the live protection map: ranges excluded from snapshots taken from now on and from deltas.</summary>
    public IReadOnlyList<ByteRange> ProtectedRanges => _protected.Ranges;

    /// <summary>Gets the snapshots, oldest first.</summary>
    public IReadOnlyList<SnapshotInfo> Snapshots
    {
        get
        {
            EnterRead();
            try
            {
                return _snapshots.Select(s => s.Info).ToArray();
            }
            finally
            {
                _structure.ExitReadLock();
            }
        }
    }

    /// <summary>Returns whether a volume exists in <paramref name="directory"/>.</summary>
    public static bool Exists(string directory) =>
        Directory.Exists(directory) && VolumeMetadata.File(new FileSystemStorage(directory, create: false)).AnyExists();

    /// <summary>Creates a volume in a folder on local disk.</summary>
    /// <exception cref="SnapshotToolsException">A volume exists there (and <see cref="VolumeCreateOptions.Recreate"/> is
    /// false), the options are invalid, or the volume is in use.</exception>
    public static Volume Create(string directory, VolumeCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        var storage = new FileSystemStorage(directory, create: true);
        string name = options.Name ?? new DirectoryInfo(storage.Location).Name;
        return Create(storage, options, ownsStorage: true, name);
    }

    /// <summary>Creates a volume on the given storage.</summary>
    /// <exception cref="SnapshotToolsException">See <see cref="Create(string, VolumeCreateOptions)"/>.</exception>
    public static Volume Create(IStorage storage, VolumeCreateOptions options) =>
        Create(storage, options, ownsStorage: false, options.Name ?? storage.Location);

    /// <summary>Opens the volume in a folder on local disk for reading and writing.</summary>
    /// <exception cref="SnapshotToolsException">No volume there, in use, or corrupt metadata.</exception>
    public static Volume Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw SnapshotToolsException.VolumeNotFound(Path.GetFullPath(directory));
        }
        return Open(new FileSystemStorage(directory, create: false), ownsStorage: true);
    }

    /// <summary>Opens the volume on the given storage.</summary>
    /// <exception cref="SnapshotToolsException">See <see cref="Open(string)"/>.</exception>
    public static Volume Open(IStorage storage) => Open(storage, ownsStorage: false);

    /// <summary>Deletes the volume in <paramref name="directory"/> with all its snapshots.</summary>
    /// <exception cref="SnapshotToolsException">No volume there, or it is in use.</exception>
    public static void Delete(string directory)
    {
        var storage = new FileSystemStorage(directory, create: false);
        if (!Exists(directory))
        {
            throw SnapshotToolsException.VolumeNotFound(storage.Location);
        }
        IDisposable fileLock = storage.TryLock() ?? throw SnapshotToolsException.VolumeInUse(storage.Location);
        using (fileLock)
        {
            // Metadata first: once it is gone the folder is no longer a volume, whatever else a crash leaves.
            storage.Delete(VolumeMetadata.FileName + ".0");
            storage.Delete(VolumeMetadata.FileName + ".1");
            foreach (string file in storage.List())
            {
                if (file != "volume.lock")
                {
                    storage.Delete(file);
                }
            }
        }
        storage.Delete("volume.lock");
        try
        {
            Directory.Delete(storage.Location);
        }
        catch (IOException)
        {
            // Something else lives in the folder; leave it.
        }
    }

    /// <summary>Makes every completed write durable, and the in-use maps with them.</summary>
    /// <exception cref="SnapshotToolsException">The disk is full or the storage failed.</exception>
    public void Flush()
    {
        EnterWrite();
        try
        {
            FlushCore(clean: false);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>Flushes and closes the volume, marking it cleanly shut down.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _structure.EnterWriteLock();
        try
        {
            if (_disposed)
            {
                return;
            }
            try
            {
                FlushCore(clean: true);
            }
            catch (SimulatedCrashException)
            {
                // The simulated machine is gone; there is nothing left to write to.
            }
            finally
            {
                _disposed = true;
                WaitForDrain();
                foreach (SnapshotState s in _snapshots)
                {
                    s.Log.Dispose();
                }
                _live.Dispose();
                _lock.Dispose();
                if (_ownsStorage)
                {
                    _storage.Dispose();
                }
            }
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    internal static int ValidateChunkSize(int chunkSize)
    {
        if (chunkSize < MinChunkSize || chunkSize > MaxChunkSize || (chunkSize & (chunkSize - 1)) != 0)
        {
            throw SnapshotToolsException.Invalid("chunk size", $"{chunkSize} is not a power of two from {MinChunkSize} to {MaxChunkSize} bytes");
        }
        return chunkSize;
    }

    internal long ChunkCountFor(long size) => (size + _chunkSize - 1) >> _chunkShift;

    internal long ChunkStart(long chunk) => chunk << _chunkShift;

    private static Volume Create(IStorage storage, VolumeCreateOptions options, bool ownsStorage, string name)
    {
        ValidateChunkSize(options.ChunkSize);
        if (options.Size <= 0)
        {
            throw SnapshotToolsException.Invalid("size", $"{options.Size} must be greater than zero");
        }
        IDisposable fileLock = storage.TryLock() ?? throw SnapshotToolsException.VolumeInUse(storage.Location);
        try
        {
            MetadataFile metaFile = VolumeMetadata.File(storage);
            Guid volumeId = options.VolumeId ?? Guid.NewGuid();
            long generation = options.VolumeId.HasValue ? Math.Max(1, options.Generation ?? 1) : 1;
            ulong metaSequence = 0;
            if (metaFile.AnyExists())
            {
                if (!options.Recreate)
                {
                    throw SnapshotToolsException.VolumeExists(storage.Location);
                }
                try
                {
                    VolumeMetadata old = VolumeMetadata.Deserialize(metaFile.Read(), storage.Location);
                    volumeId = old.VolumeId;
                    generation = old.Generation + 1;
                    metaSequence = metaFile.Sequence;
                }
                catch (SnapshotToolsException ex) when (ex.Code == SnapshotErrorCode.CorruptMetadata)
                {
                    // Unreadable old incarnation: a fresh identity is the safe choice (nothing can match it).
                }
                foreach (string file in storage.List())
                {
                    if (file.StartsWith("snap-", StringComparison.Ordinal) || file == LiveFileName)
                    {
                        storage.Delete(file);
                    }
                }
            }
            var meta = new VolumeMetadata
            {
                VolumeId = volumeId,
                Generation = generation,
                Size = options.Size,
                ChunkSize = options.ChunkSize,
                Name = name,
                CreatedUtc = DateTimeOffset.UtcNow,
                ProtectionMode = options.ProtectionMode,
                NextSequence = 1,
            };
            long words = ChunkBitmap.WordsFor((options.Size + options.ChunkSize - 1) / options.ChunkSize);
            meta.DataMap = new ulong[words];
            meta.ZeroMap = new ulong[words];
            using (IStorageFile live = storage.Open(LiveFileName, create: true))
            {
                live.SetLength(0);
                live.SetLength(options.Size);
                live.Flush();
            }
            // Continue the old sequence and write both copies, so no copy of the old incarnation can ever win.
            var fresh = new MetadataFile(storage, VolumeMetadata.FileName, VolumeMetadata.Magic, VolumeMetadata.Version);
            fresh.Sequence = metaSequence;
            byte[] body = meta.Serialize();
            fresh.Write(body);
            fresh.Write(body);
            var volume = new Volume(storage, ownsStorage, fileLock, meta, fresh);
            return volume;
        }
        catch
        {
            fileLock.Dispose();
            throw;
        }
    }

    private static Volume Open(IStorage storage, bool ownsStorage)
    {
        MetadataFile metaFile = VolumeMetadata.File(storage);
        if (!metaFile.AnyExists())
        {
            throw SnapshotToolsException.VolumeNotFound(storage.Location);
        }
        if (!storage.Exists(LiveFileName))
        {
            throw SnapshotToolsException.Corrupt(storage.Location, $"the live data file '{LiveFileName}' is missing");
        }
        IDisposable fileLock = storage.TryLock() ?? throw SnapshotToolsException.VolumeInUse(storage.Location);
        Volume? volume = null;
        try
        {
            VolumeMetadata meta = VolumeMetadata.Deserialize(metaFile.Read(), $"'{VolumeMetadata.FileName}' in {storage.Location}");
            ValidateChunkSize(meta.ChunkSize);
            volume = new Volume(storage, ownsStorage, fileLock, meta, metaFile);
            volume.LoadSnapshots(meta);
            return volume;
        }
        catch
        {
            if (volume != null)
            {
                volume._disposed = true;
                foreach (SnapshotState s in volume._snapshots)
                {
                    s.Log.Dispose();
                }
                volume._live.Dispose();
            }
            fileLock.Dispose();
            throw;
        }
    }

    private void LoadSnapshots(VolumeMetadata meta)
    {
        var messages = new List<string>();
        int discarded = 0;
        if (!meta.CleanShutdown)
        {
            messages.Add("The volume was not closed cleanly; recovering.");
        }
        foreach (SnapshotRecord record in meta.Snapshots)
        {
            // Every log but the newest is frozen; freezing each as the next one is read keeps at most one mutable
            // index (the one being read) alongside the frozen ones.
            if (_snapshots.Count > 0)
            {
                _snapshots[^1].Log.Freeze();
            }
            PreservationLog log = PreservationLog.Open(_storage, _volumeId, record.Id, record.Sequence, _chunkSize,
                ChunkCountFor(record.Size), record.DurableRecords, out int torn);
            discarded += torn;
            _snapshots.Add(new SnapshotState(ToInfo(record), log, RangeSet.Create(record.ProtectedRanges)));
        }
        if (discarded > 0)
        {
            messages.Add($"Discarded {discarded} preservation record(s) torn by the crash; the writes they guarded never reached the volume.");
        }
        RecomputeNoPreserve();

        // Files no snapshot owns are leftovers of an interrupted create or delete.
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (SnapshotState s in _snapshots)
        {
            owned.Add(PreservationLog.IndexName(s.Info.Sequence));
            owned.Add(PreservationLog.DataName(s.Info.Sequence));
        }
        foreach (string file in _storage.List())
        {
            if (!file.StartsWith("snap-", StringComparison.Ordinal) || owned.Contains(file))
            {
                continue;
            }
            if (_metaFile.InvalidCopies == 0)
            {
                _storage.Delete(file);
                continue;
            }
            // A metadata copy failed its checksum, so the copy in use may be older than the store: these files may
            // belong to a snapshot the damaged copy listed. Keep them aside, never delete them silently.
            if (long.TryParse(file.AsSpan(5, 8), out long orphanSequence))
            {
                _nextSequence = Math.Max(_nextSequence, orphanSequence + 1);
            }
            KeepAside(file);
            messages.Add($"A metadata copy was damaged and '{file}' belongs to no snapshot of the surviving copy; it was kept as 'orphan-{file}'.");
        }

        // The live file's length is the volume size; an interrupted resize may have left it otherwise.
        if (_live.Length != _size)
        {
            _live.SetLength(Math.Min(_live.Length, _size));
            _live.SetLength(_size);
            messages.Add("Completed an interrupted resize.");
        }

        string? rollbackOutcome = null;
        _structure.EnterWriteLock();
        try
        {
            WriteMetadata(clean: false);
            if (_rollbackTarget != 0)
            {
                SnapshotState? target = _snapshots.FirstOrDefault(s => s.Info.Sequence == _rollbackTarget);
                if (target == null)
                {
                    _rollbackTarget = 0;
                    WriteMetadata(clean: false);
                    rollbackOutcome = "An interrupted rollback named a snapshot that no longer exists; it was abandoned.";
                }
                else
                {
                    RollbackCore(target, null, CancellationToken.None);
                    rollbackOutcome = $"An interrupted rollback to snapshot '{target.Info.Name}' was completed.";
                }
                messages.Add(rollbackOutcome);
            }
            string? importOutcome = RecoverImport();
            if (importOutcome != null)
            {
                messages.Add(importOutcome);
            }
        }
        finally
        {
            _structure.ExitWriteLock();
        }
        Recovery = new RecoveryReport(meta.CleanShutdown, discarded, rollbackOutcome, messages);
    }

    private void KeepAside(string file)
    {
        using (IStorageFile source = _storage.Open(file, create: false))
        using (IStorageFile copy = _storage.Open("orphan-" + file, create: true))
        {
            byte[] buffer = new byte[1 << 20];
            long length = source.Length;
            copy.SetLength(0);
            for (long pos = 0; pos < length; pos += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, length - pos);
                source.Read(pos, buffer.AsSpan(0, n));
                copy.Write(pos, buffer.AsSpan(0, n));
            }
            copy.Flush();
        }
        _storage.Delete(file);
    }

    private SnapshotInfo ToInfo(SnapshotRecord r) =>
        new(_volumeId, _generation, r.Id, r.Sequence, r.Name, r.CreatedUtc, r.Size, r.Description, r.ProtectedRanges.ToArray());

    private void FlushCore(bool clean)
    {
        ThrowIfDisposed();
        // Writing the metadata drains the write-back window and syncs the stores and the live file first.
        WriteMetadata(clean);
        TrimImagePool();
    }

    /// <summary>
    /// Writes the metadata durably. Caller holds the structure lock exclusively. The stores and the live file are
    /// synced first, whoever calls: the metadata carries the in-use maps and each store's durable record count, and
    /// neither may reach the disk ahead of what it describes.
    /// </summary>
    private void WriteMetadata(bool clean)
    {
        try
        {
            WriteMetadataCore(clean);
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex) && ex is not SnapshotToolsException)
        {
            throw SnapshotToolsException.DiskFull(_name, ex);
        }
    }

    private void WriteMetadataCore(bool clean)
    {
        DrainPendingCore();
        _live.Flush();
        var meta = new VolumeMetadata
        {
            VolumeId = _volumeId,
            Generation = _generation,
            Size = _size,
            ChunkSize = _chunkSize,
            Name = _name,
            CreatedUtc = _createdUtc,
            ProtectionMode = _protectionMode,
            NextSequence = _nextSequence,
            CleanShutdown = clean,
            RollbackTarget = _rollbackTarget,
            ProtectedRanges = _protected.Ranges.ToList(),
            DataMap = _dataMap.Words,
            ZeroMap = _zeroMap.Words,
        };
        foreach (SnapshotState s in _snapshots)
        {
            meta.Snapshots.Add(new SnapshotRecord
            {
                Id = s.Info.Id,
                Sequence = s.Info.Sequence,
                Name = s.Info.Name,
                CreatedUtc = s.Info.CreatedUtc,
                Size = s.Info.Size,
                Description = s.Info.Description,
                DurableRecords = s.Log == _clearingLog ? 0 : s.Log.RecordCount,
                ProtectedRanges = s.Info.ProtectedRanges.ToList(),
            });
        }
        _metaFile.Write(meta.Serialize());
    }

    private void RecomputeNoPreserve()
    {
        if (_protectionMode != ProtectionMode.DoNotPreserve || _snapshots.Count == 0)
        {
            _noPreserve = RangeSet.Empty;
            return;
        }
        // A chunk may go unpreserved only if every snapshot that could fall through to the newest store excludes it.
        RangeSet set = _snapshots[0].Protected;
        for (int i = 1; i < _snapshots.Count; i++)
        {
            set = set.Intersect(_snapshots[i].Protected);
        }
        _noPreserve = set;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw SnapshotToolsException.Closed(_name);
        }
    }

    private void EnterRead()
    {
        _structure.EnterReadLock();
        if (_disposed)
        {
            _structure.ExitReadLock();
            throw SnapshotToolsException.Closed(_name);
        }
    }

    private void EnterWrite()
    {
        _structure.EnterWriteLock();
        if (_disposed)
        {
            _structure.ExitWriteLock();
            throw SnapshotToolsException.Closed(_name);
        }
        // No structural change while a background drain still writes held chunks.
        WaitForDrain();
    }

    private sealed class SnapshotState
    {
        public SnapshotState(SnapshotInfo info, PreservationLog log, RangeSet protectedRanges)
        {
            Info = info;
            Log = log;
            Protected = protectedRanges;
        }

        public SnapshotInfo Info { get; set; }

        public PreservationLog Log { get; }

        public RangeSet Protected { get; }
    }
}
