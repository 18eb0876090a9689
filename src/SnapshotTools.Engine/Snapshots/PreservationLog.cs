using System.Buffers.Binary;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Engine.Snapshots;

/// <summary>What a preservation record says about a chunk as of its snapshot.</summary>
internal enum PreservedKind : byte
{
    /// <summary>A placeholder written over a torn record during recovery; carries nothing.</summary>
    Void = 0,
    /// <summary>The chunk held data; it is in the data file.</summary>
    Data = 1,
    /// <summary>The chunk was written as zeros (not in use, allocated).</summary>
    Zero = 2,
    /// <summary>The chunk was not in use (discarded or never written).</summary>
    Unmapped = 3,
    /// <summary>The chunk lay wholly in an excluded range and was not preserved (seed 001 Figures 8A/8B).</summary>
    Excluded = 4,
}

/// <summary>
/// One snapshot's preservation store and index: the before-images of the chunks first changed after the snapshot
/// was taken (seed 001 "preservation memory", seed 002 save volume + block map). The set of chunks it holds is also
/// the change map of the interval from this snapshot to the next one (or to the live volume).
/// </summary>
/// <remarks>
/// Two files per snapshot. <c>snap-SEQ.idx</c>: a 64-byte header, then fixed 32-byte records, one per chunk. Record
/// <c>i</c>'s data (when it has data) is chunk-size bytes at offset <c>i * chunkSize</c> of <c>snap-SEQ.dat</c>.
/// A record and its data are made durable (fsync) before the live chunk they protect is overwritten, so a record
/// that fails its checksums after a crash protected a write that never happened and can be dropped.
/// <code>
/// header: 00-07 magic "STPRIDX1" | 08-11 version u32 | 12-15 chunkSize u32 | 16-31 volumeId | 32-47 snapshotId
///         48-55 snapshot sequence u64 | 56-59 reserved | 60-63 CRC-32C of 00-59
/// record: 00-07 chunk u64 | 08-15 ordinal u64 | 16 kind u8 | 17-19 reserved | 20-23 data CRC-32C u32
///         24-27 salt u32 (CRC-32C of the snapshot id) | 28-31 CRC-32C of 00-27
/// </code>
/// </remarks>
internal sealed class PreservationLog : IDisposable
{
    public const int HeaderLength = 64;
    public const int RecordLength = 32;
    public const ulong Magic = 0x3158444952505453; // "STPRIDX1"
    public const int Version = 1;

    private const int H_MAGIC = 0;       // 00-07 [u64]
    private const int H_VERSION = 8;     // 08-11 [u32]
    private const int H_CHUNKSIZE = 12;  // 12-15 [u32]
    private const int H_VOLUMEID = 16;   // 16-31 [guid]
    private const int H_SNAPSHOTID = 32; // 32-47 [guid]
    private const int H_SEQUENCE = 48;   // 48-55 [u64]
    private const int H_CRC = 60;        // 60-63 [u32]

    private const int R_CHUNK = 0;       // 00-07 [u64]
    private const int R_ORDINAL = 8;     // 08-15 [u64]
    private const int R_KIND = 16;       // 16    [u8]
    private const int R_DATACRC = 20;    // 20-23 [u32]
    private const int R_SALT = 24;       // 24-27 [u32]
    private const int R_CRC = 28;        // 28-31 [u32]

    private readonly object _gate = new();
    private readonly IStorageFile _index;
    private readonly IStorageFile _data;
    private readonly Dictionary<long, long> _map; // chunk -> (ordinal << 8) | kind
    private readonly uint _salt;
    private long _next;
    private volatile bool _unsynced;
    private long _reserved;
    private const long ReserveStep = 64L * 1024 * 1024;
    private readonly object _flushGate = new();

    private PreservationLog(long sequence, Guid snapshotId, int chunkSize, IStorageFile index, IStorageFile data, Dictionary<long, long> map, long next)
    {
        Sequence = sequence;
        SnapshotId = snapshotId;
        ChunkSize = chunkSize;
        _index = index;
        _data = data;
        _map = map;
        _next = next;
        _salt = SaltOf(snapshotId);
    }

    public long Sequence { get; }

    public Guid SnapshotId { get; }

    public int ChunkSize { get; }

    /// <summary>Gets the number of record slots used (the durable count once flushed).</summary>
    public long RecordCount
    {
        get
        {
            lock (_gate)
            {
                return _next;
            }
        }
    }

    /// <summary>Gets the number of chunks this log holds a record for.</summary>
    public int ChunkCount
    {
        get
        {
            lock (_gate)
            {
                return _map.Count;
            }
        }
    }

    public static string IndexName(long sequence) => $"snap-{sequence:D8}.idx";

    public static string DataName(long sequence) => $"snap-{sequence:D8}.dat";

    /// <summary>Creates the empty log files of a new snapshot, durably.</summary>
    public static PreservationLog Create(IStorage storage, Guid volumeId, Guid snapshotId, long sequence, int chunkSize)
    {
        IStorageFile index = storage.Open(IndexName(sequence), create: true);
        IStorageFile data = storage.Open(DataName(sequence), create: true);
        index.SetLength(0);
        data.SetLength(0);
        Span<byte> h = stackalloc byte[HeaderLength];
        h.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(H_MAGIC), Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_VERSION), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_CHUNKSIZE), (uint)chunkSize);
        volumeId.TryWriteBytes(h.Slice(H_VOLUMEID, 16));
        snapshotId.TryWriteBytes(h.Slice(H_SNAPSHOTID, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(H_SEQUENCE), (ulong)sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_CRC), Crc32C.Compute(h.Slice(0, H_CRC)));
        index.Write(0, h);
        index.Flush();
        data.Flush();
        return new PreservationLog(sequence, snapshotId, chunkSize, index, data, new Dictionary<long, long>(), 0);
    }

    /// <summary>
    /// Opens a log. Records below <paramref name="durableCount"/> were durable at the last metadata write and must
    /// be valid; a bad one is corruption. Records above it may have been torn by a crash: those that fail their
    /// checksums (record or data) are counted in <paramref name="discarded"/> and overwritten with void records.
    /// </summary>
    /// <exception cref="SnapshotToolsException">A header or durable record is corrupt.</exception>
    public static PreservationLog Open(IStorage storage, Guid volumeId, Guid snapshotId, long sequence, int chunkSize, long durableCount, out int discarded)
    {
        string indexName = IndexName(sequence);
        if (!storage.Exists(indexName) || !storage.Exists(DataName(sequence)))
        {
            throw SnapshotToolsException.Corrupt($"snapshot {sequence} of {storage.Location}", $"the preservation store file '{indexName}' or its data file is missing");
        }
        IStorageFile index = storage.Open(indexName, create: false);
        IStorageFile data = storage.Open(DataName(sequence), create: false);
        try
        {
            string where = $"'{indexName}' in {storage.Location}";
            Span<byte> h = stackalloc byte[HeaderLength];
            if (index.Length < HeaderLength)
            {
                throw SnapshotToolsException.Corrupt(where, "the file is shorter than its header");
            }
            index.Read(0, h);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_CRC)) != Crc32C.Compute(h.Slice(0, H_CRC)))
            {
                throw SnapshotToolsException.Corrupt(where, "header checksum mismatch");
            }
            if (BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(H_MAGIC)) != Magic)
            {
                throw SnapshotToolsException.Corrupt(where, "wrong magic");
            }
            int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_VERSION));
            if (version > Version)
            {
                throw SnapshotToolsException.Unsupported(where, version);
            }
            if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_CHUNKSIZE)) != chunkSize
                || new Guid(h.Slice(H_VOLUMEID, 16)) != volumeId
                || new Guid(h.Slice(H_SNAPSHOTID, 16)) != snapshotId
                || BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(H_SEQUENCE)) != (ulong)sequence)
            {
                throw SnapshotToolsException.Corrupt(where, "the header names another volume, snapshot or chunk size");
            }

            long count = (index.Length - HeaderLength) / RecordLength;
            if (count < durableCount)
            {
                throw SnapshotToolsException.Corrupt(where, $"{durableCount} records were durable but only {count} are present");
            }
            uint salt = SaltOf(snapshotId);
            var map = new Dictionary<long, long>();
            var voids = new List<long>();
            byte[] records = new byte[Math.Min(count, 8192) * RecordLength];
            byte[] chunk = Array.Empty<byte>();
            for (long start = 0; start < count; start += 8192)
            {
                int n = (int)Math.Min(8192, count - start);
                Span<byte> block = records.AsSpan(0, n * RecordLength);
                index.Read(HeaderLength + start * RecordLength, block);
                for (int i = 0; i < n; i++)
                {
                    long ordinal = start + i;
                    Span<byte> r = block.Slice(i * RecordLength, RecordLength);
                    bool durable = ordinal < durableCount;
                    string? problem = CheckRecord(r, ordinal, salt, out long chunkIndex, out PreservedKind kind, out uint dataCrc);
                    if (problem == null && kind == PreservedKind.Data && !durable)
                    {
                        // Not known durable: its data may have been torn by the crash, so check it now.
                        if (chunk.Length == 0)
                        {
                            chunk = new byte[chunkSize];
                        }
                        data.Read(ordinal * chunkSize, chunk);
                        if (Crc32C.Compute(chunk) != dataCrc)
                        {
                            problem = "data checksum mismatch";
                        }
                    }
                    if (problem != null)
                    {
                        if (durable)
                        {
                            throw SnapshotToolsException.Corrupt(where, $"record {ordinal}: {problem}");
                        }
                        voids.Add(ordinal);
                        continue;
                    }
                    if (kind != PreservedKind.Void)
                    {
                        // The first record of a chunk wins: a later duplicate can only come from a failed batch whose
                        // live write never happened, so both hold the same before-image.
                        map.TryAdd(chunkIndex, (ordinal << 8) | (long)kind);
                    }
                }
            }
            var log = new PreservationLog(sequence, snapshotId, chunkSize, index, data, map, count);
            foreach (long ordinal in voids)
            {
                log.WriteRecord(ordinal, 0, PreservedKind.Void, 0);
            }
            if (voids.Count > 0)
            {
                index.Flush();
            }
            discarded = voids.Count;
            return log;
        }
        catch
        {
            index.Dispose();
            data.Dispose();
            throw;
        }
    }

    public static uint SaltOf(Guid snapshotId)
    {
        Span<byte> b = stackalloc byte[16];
        snapshotId.TryWriteBytes(b);
        return Crc32C.Compute(b);
    }

    /// <summary>Returns whether the log holds a record for <paramref name="chunk"/>, and which.</summary>
    public bool TryGet(long chunk, out PreservedKind kind, out long ordinal)
    {
        long v;
        bool found;
        lock (_gate)
        {
            found = _map.TryGetValue(chunk, out v);
        }
        kind = (PreservedKind)(v & 0xFF);
        ordinal = v >> 8;
        return found;
    }

    public bool Contains(long chunk)
    {
        lock (_gate)
        {
            return _map.ContainsKey(chunk);
        }
    }

    /// <summary>
    /// Appends a record (and its data for <see cref="PreservedKind.Data"/>) without publishing it: it becomes visible
    /// through <see cref="TryGet"/> only after <see cref="Flush"/> and <see cref="Publish"/>. Data must be exactly
    /// one chunk. On failure nothing is consumed.
    /// </summary>
    public long Append(long chunk, PreservedKind kind, ReadOnlySpan<byte> data)
    {
        uint crc = kind == PreservedKind.Data ? Crc32C.Compute(data) : 0;
        lock (_gate)
        {
            long ordinal = _next;
            if (kind == PreservedKind.Data)
            {
                long end = (ordinal + 1) * ChunkSize;
                if (end > _reserved)
                {
                    // Reserve the store in large steps so copy-on-write does not allocate blocks chunk by chunk.
                    long step = Math.Max(ReserveStep, ChunkSize);
                    _data.Reserve(_reserved, end - _reserved + step);
                    _reserved = end + step;
                }
                _data.Write(ordinal * ChunkSize, data);
            }
            WriteRecord(ordinal, chunk, kind, crc);
            _next = ordinal + 1;
            // Only after the writes: a flush that clears the flag before this point has to be followed by ours.
            _unsynced = true;
            return ordinal;
        }
    }

    /// <summary>Makes appended records durable; the two files are synced concurrently, and not at all when clean.</summary>
    public void Flush()
    {
        // Serialized: a caller that finds the flag clear while another caller's sync is still running must wait
        // for that sync, which may be the one covering its own records.
        lock (_flushGate)
        {
            if (!_unsynced)
            {
                return;
            }
            _unsynced = false;
            try
            {
                Task data = Task.Run(_data.Flush);
                _index.Flush();
                data.GetAwaiter().GetResult();
            }
            catch
            {
                _unsynced = true;
                throw;
            }
        }
    }

    /// <summary>Makes an appended, flushed record visible.</summary>
    public void Publish(long chunk, PreservedKind kind, long ordinal)
    {
        lock (_gate)
        {
            _map.TryAdd(chunk, (ordinal << 8) | (long)kind);
        }
    }

    /// <summary>Reads and verifies the data of record <paramref name="ordinal"/> for <paramref name="chunk"/>.</summary>
    /// <exception cref="SnapshotToolsException">The record or its data fails its checksum.</exception>
    public void ReadData(long chunk, long ordinal, Span<byte> buffer)
    {
        Span<byte> r = stackalloc byte[RecordLength];
        _index.Read(HeaderLength + ordinal * RecordLength, r);
        string? problem = CheckRecord(r, ordinal, _salt, out long recordChunk, out PreservedKind kind, out uint dataCrc);
        if (problem == null && (recordChunk != chunk || kind != PreservedKind.Data))
        {
            problem = "the record describes another chunk";
        }
        if (problem == null)
        {
            _data.Read(ordinal * ChunkSize, buffer);
            if (Crc32C.Compute(buffer) != dataCrc)
            {
                problem = "data checksum mismatch";
            }
        }
        if (problem != null)
        {
            throw SnapshotToolsException.Corrupt($"'{IndexName(Sequence)}'", $"preserved chunk {chunk} (record {ordinal}): {problem}");
        }
    }

    /// <summary>Returns the published records as (chunk, kind, ordinal), in no particular order.</summary>
    public List<(long Chunk, PreservedKind Kind, long Ordinal)> Entries()
    {
        lock (_gate)
        {
            var list = new List<(long, PreservedKind, long)>(_map.Count);
            foreach (KeyValuePair<long, long> pair in _map)
            {
                list.Add((pair.Key, (PreservedKind)(pair.Value & 0xFF), pair.Value >> 8));
            }
            return list;
        }
    }

    /// <summary>Calls <paramref name="action"/> for each published chunk index.</summary>
    public void ForEachChunk(Action<long> action)
    {
        lock (_gate)
        {
            foreach (long chunk in _map.Keys)
            {
                action(chunk);
            }
        }
    }

    /// <summary>
    /// Drops every record: used when the live volume again equals this (newest) snapshot, so that nothing has
    /// changed since it. The caller has already recorded zero durable records in the metadata.
    /// </summary>
    public void Clear()
    {
        lock (_gate)
        {
            _index.SetLength(HeaderLength);
            _data.SetLength(0);
            _index.Flush();
            _data.Flush();
            _map.Clear();
            _next = 0;
        }
    }

    public void Dispose()
    {
        _index.Dispose();
        _data.Dispose();
    }

    private static string? CheckRecord(ReadOnlySpan<byte> r, long ordinal, uint salt, out long chunk, out PreservedKind kind, out uint dataCrc)
    {
        chunk = (long)BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(R_CHUNK));
        kind = (PreservedKind)r[R_KIND];
        dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(R_DATACRC));
        if (BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(R_CRC)) != Crc32C.Compute(r.Slice(0, R_CRC)))
        {
            return "record checksum mismatch";
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(R_SALT)) != salt)
        {
            return "record belongs to another snapshot";
        }
        if ((long)BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(R_ORDINAL)) != ordinal)
        {
            return "record is out of place";
        }
        if (kind > PreservedKind.Excluded)
        {
            return $"unknown record kind {(int)kind}";
        }
        return null;
    }

    private void WriteRecord(long ordinal, long chunk, PreservedKind kind, uint dataCrc)
    {
        Span<byte> r = stackalloc byte[RecordLength];
        r.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(R_CHUNK), (ulong)chunk);
        BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(R_ORDINAL), (ulong)ordinal);
        r[R_KIND] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_DATACRC), dataCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_SALT), _salt);
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_CRC), Crc32C.Compute(r.Slice(0, R_CRC)));
        _index.Write(HeaderLength + ordinal * RecordLength, r);
    }
}
