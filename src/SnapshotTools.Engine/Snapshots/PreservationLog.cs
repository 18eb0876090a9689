using System.Buffers;
using System.Buffers.Binary;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Maps;
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
/// Two files per snapshot (format version 2, docs/store-format.md). <c>snap-SEQ.idx</c>: a 64-byte header, then an
/// append-only log of fixed 32-byte records, one per chunk. <c>snap-SEQ.dat</c>: a sparse file addressed by chunk,
/// not by record: chunks are grouped <see cref="GroupChunks"/> to a group, and each group is a
/// <see cref="CrcBlockLength"/>-byte block of CRC-32C entries (one u32 per chunk of the group, at
/// <c>4 * (chunk % G)</c>) followed by the group's chunk slots. A chunk's data and its CRC entry are written together
/// and become durable with the data file's fsync; every read of preserved data is checked against the entry.
/// A record and its data are made durable before the live chunk they protect is overwritten, so a record that fails
/// its checksums after a crash protected a write that never happened and can be dropped.
/// In memory only a chunk -> kind index is kept, no record positions: a mutable <see cref="ChunkKindIndex"/> while the
/// log takes copy-on-write records (the newest snapshot), or, once <see cref="Freeze"/>d, an immutable compressed
/// <see cref="FrozenKindIndex"/> (older snapshots, whose logs change only when a newer snapshot is deleted and merged
/// into them; such a change thaws the index first).
/// <code>
/// header: 00-07 magic "STPRIDX1" | 08-11 version u32 (2) | 12-15 chunkSize u32 | 16-31 volumeId | 32-47 snapshotId
///         48-55 snapshot sequence u64 | 56-59 reserved | 60-63 CRC-32C of 00-59
/// record: 00-07 chunk u64 | 08-15 ordinal u64 | 16 kind u8 | 17-19 reserved | 20-23 data CRC-32C u32
///         24-27 salt u32 (CRC-32C of the snapshot id) | 28-31 CRC-32C of 00-27
/// data:   group g at g * (4096 + G * chunkSize): 4096-byte CRC block (u32 per chunk), then G chunk slots
/// </code>
/// </remarks>
internal sealed class PreservationLog : IDisposable
{
    public const int HeaderLength = 64;
    public const int RecordLength = 32;
    public const ulong Magic = 0x3158444952505453; // "STPRIDX1"
    public const int Version = 2;

    /// <summary>Chunks per group of the data file.</summary>
    public const int GroupChunks = 1024;

    /// <summary>Bytes of the CRC block that starts each group of the data file (a u32 per chunk).</summary>
    public const int CrcBlockLength = 4 * GroupChunks;

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

    private const int CrcEntryLength = 4;
    private const int StackRecords = 64;

    private readonly object _gate = new();
    private readonly IStorageFile _index;
    private readonly IStorageFile _data;
    private readonly long _chunks;
    private readonly uint _salt;
    // The in-memory index: a ChunkKindIndex (mutable) or a FrozenKindIndex (under _gate).
    private IChunkKindSet _kinds;
    private long _next;
    private volatile bool _unsynced;
    private readonly object _flushGate = new();

    private PreservationLog(long sequence, Guid snapshotId, int chunkSize, long chunks, IStorageFile index, IStorageFile data, ChunkKindIndex map, long next)
    {
        _chunks = chunks;
        Sequence = sequence;
        SnapshotId = snapshotId;
        ChunkSize = chunkSize;
        _index = index;
        _data = data;
        _kinds = map;
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

    /// <summary>Gets the number of chunks this log holds a published record for.</summary>
    public long ChunkCount
    {
        get
        {
            lock (_gate)
            {
                return _kinds.Count;
            }
        }
    }

    /// <summary>Gets whether the mutable in-memory index uses its dense form (for tests and measurements).</summary>
    internal bool IsIndexDense
    {
        get
        {
            lock (_gate)
            {
                return _kinds is ChunkKindIndex { IsDense: true };
            }
        }
    }

    /// <summary>Gets whether the in-memory index is the frozen (immutable, compressed) form.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_gate)
            {
                return _kinds is FrozenKindIndex;
            }
        }
    }

    /// <summary>Gets the bytes of the arrays the in-memory index holds (for tests and measurements).</summary>
    internal long IndexAllocatedBytes
    {
        get
        {
            lock (_gate)
            {
                return _kinds.AllocatedBytes;
            }
        }
    }

    public static string IndexName(long sequence) => $"snap-{sequence:D8}.idx";

    public static string DataName(long sequence) => $"snap-{sequence:D8}.dat";

    /// <summary>Gets the byte offset of chunk <paramref name="chunk"/>'s slot in the data file.</summary>
    public static long DataOffset(long chunk, int chunkSize) =>
        GroupStart(chunk, chunkSize) + CrcBlockLength + (chunk % GroupChunks) * chunkSize;

    /// <summary>Gets the byte offset of chunk <paramref name="chunk"/>'s CRC-32C entry in the data file.</summary>
    public static long CrcEntryOffset(long chunk, int chunkSize) =>
        GroupStart(chunk, chunkSize) + CrcEntryLength * (chunk % GroupChunks);

    private static long GroupStart(long chunk, int chunkSize) =>
        (chunk / GroupChunks) * (CrcBlockLength + (long)GroupChunks * chunkSize);

    /// <summary>Creates the empty log files of a new snapshot, durably. <paramref name="chunks"/> is the snapshot's
    /// chunk count: records name chunks below it (it sizes the in-memory index).</summary>
    public static PreservationLog Create(IStorage storage, Guid volumeId, Guid snapshotId, long sequence, int chunkSize, long chunks)
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
        return new PreservationLog(sequence, snapshotId, chunkSize, chunks, index, data, new ChunkKindIndex(chunks), 0);
    }

    /// <summary>
    /// Opens a log. Records below <paramref name="durableCount"/> were durable at the last metadata write and must
    /// be valid; a bad one is corruption. Records above it may have been torn by a crash: those that fail their
    /// checks (record checksum, or for data records the data against the record's CRC and the chunk's CRC entry) are
    /// counted in <paramref name="discarded"/> and overwritten with void records. <paramref name="chunks"/> is the
    /// snapshot's chunk count (it sizes the in-memory index).
    /// </summary>
    /// <exception cref="SnapshotToolsException">A file is missing, a header or durable record is corrupt, or the
    /// index has another format version (<see cref="SnapshotErrorCode.UnsupportedFormat"/>).</exception>
    public static PreservationLog Open(IStorage storage, Guid volumeId, Guid snapshotId, long sequence, int chunkSize, long chunks, long durableCount, out int discarded)
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
            if (version != Version)
            {
                // Version 1 (ordinal-addressed data) was never deployed; there is no reader for it.
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
            var map = new ChunkKindIndex(chunks);
            var voids = new List<long>();
            byte[] records = new byte[Math.Min(count, 8192) * RecordLength];
            byte[] chunk = Array.Empty<byte>();
            Span<byte> entry = stackalloc byte[CrcEntryLength];
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
                        // Not known durable: its data or CRC entry may have been torn by the crash, so check both now.
                        if (chunk.Length == 0)
                        {
                            chunk = new byte[chunkSize];
                        }
                        data.Read(DataOffset(chunkIndex, chunkSize), chunk);
                        data.Read(CrcEntryOffset(chunkIndex, chunkSize), entry);
                        if (Crc32C.Compute(chunk) != dataCrc)
                        {
                            problem = "data checksum mismatch";
                        }
                        else if (BinaryPrimitives.ReadUInt32LittleEndian(entry) != dataCrc)
                        {
                            problem = "the chunk's CRC entry does not match the record";
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
                        // live write never happened, so both hold the same before-image (in the same slot).
                        map.TryAdd(chunkIndex, kind);
                    }
                }
            }
            var log = new PreservationLog(sequence, snapshotId, chunkSize, chunks, index, data, map, count);
            Span<byte> v = stackalloc byte[RecordLength];
            foreach (long ordinal in voids)
            {
                log.FillRecord(v, ordinal, 0, PreservedKind.Void, 0);
                index.Write(HeaderLength + ordinal * RecordLength, v);
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

    /// <summary>Returns whether the log holds a published record for <paramref name="chunk"/>, and its kind.</summary>
    public bool TryGet(long chunk, out PreservedKind kind)
    {
        lock (_gate)
        {
            return _kinds.TryGet(chunk, out kind);
        }
    }

    public bool Contains(long chunk)
    {
        lock (_gate)
        {
            return _kinds.Contains(chunk);
        }
    }

    /// <summary>
    /// Appends one record (and its data for <see cref="PreservedKind.Data"/>, exactly one chunk) without publishing
    /// it; see <see cref="AppendRange"/>.
    /// </summary>
    public void Append(long chunk, PreservedKind kind, ReadOnlySpan<byte> data)
    {
        AppendRange(chunk, new ReadOnlySpan<PreservedKind>(in kind), data);
    }

    /// <summary>
    /// Appends records for chunks <paramref name="firstChunk"/> .. + <c>kinds.Length - 1</c> without publishing them:
    /// they become visible through <see cref="TryGet"/> only after <see cref="Flush"/> and <see cref="Publish"/>.
    /// <c>kinds[i]</c> is the kind of chunk <c>firstChunk + i</c>, or <see cref="PreservedKind.Void"/> for no record.
    /// <paramref name="data"/> holds <c>kinds.Length</c> chunk slots; slot i is used only when kinds[i] is data (it
    /// may be empty when no kind is). Each run of consecutive data chunks goes out as one data write and one CRC-entry
    /// write (split only where a group ends), and all records of the call as one index write. On failure no record is
    /// consumed (data slots of chunks without a published record may have been written; nothing refers to them).
    /// </summary>
    /// <returns>The number of records appended.</returns>
    /// <exception cref="ArgumentException">A kind is out of range, or <paramref name="data"/> is too short.</exception>
    public int AppendRange(long firstChunk, ReadOnlySpan<PreservedKind> kinds, ReadOnlySpan<byte> data)
    {
        int n = kinds.Length;
        int records = 0;
        bool anyData = false;
        for (int i = 0; i < n; i++)
        {
            if (kinds[i] > PreservedKind.Excluded)
            {
                throw new ArgumentException($"Unknown record kind {(int)kinds[i]}.", nameof(kinds));
            }
            if (kinds[i] != PreservedKind.Void)
            {
                records++;
            }
            anyData |= kinds[i] == PreservedKind.Data;
        }
        if (anyData && data.Length < (long)n * ChunkSize)
        {
            throw new ArgumentException($"{n} chunk slots need {(long)n * ChunkSize} bytes of data, not {data.Length}.", nameof(data));
        }
        if (records == 0)
        {
            return 0;
        }
        byte[]? rented = null;
        Span<byte> crcs = n <= StackRecords ? stackalloc byte[StackRecords * CrcEntryLength] : (rented = ArrayPool<byte>.Shared.Rent(n * (CrcEntryLength + RecordLength)));
        Span<byte> buffer = n <= StackRecords ? stackalloc byte[StackRecords * RecordLength] : rented.AsSpan(n * CrcEntryLength);
        try
        {
            // Checksums outside the lock: the caller holds the chunks (stripe locks or the structure lock).
            for (int i = 0; i < n; i++)
            {
                uint crc = kinds[i] == PreservedKind.Data ? Crc32C.Compute(data.Slice(i * ChunkSize, ChunkSize)) : 0;
                BinaryPrimitives.WriteUInt32LittleEndian(crcs.Slice(i * CrcEntryLength), crc);
            }
            // Data slots are chunk-addressed and the caller holds these chunks, so the data and CRC-entry writes need
            // no lock: concurrent writers of other chunks copy in parallel (CRC entries of other chunks in the same
            // block are other bytes). Only the index append is serialized below.
            for (int i = 0; i < n;)
            {
                if (kinds[i] != PreservedKind.Data)
                {
                    i++;
                    continue;
                }
                long groupEnd = ((firstChunk + i) / GroupChunks + 1) * GroupChunks;
                int j = i + 1;
                while (j < n && kinds[j] == PreservedKind.Data && firstChunk + j < groupEnd)
                {
                    j++;
                }
                _data.Write(DataOffset(firstChunk + i, ChunkSize), data.Slice(i * ChunkSize, (j - i) * ChunkSize));
                _data.Write(CrcEntryOffset(firstChunk + i, ChunkSize), crcs.Slice(i * CrcEntryLength, (j - i) * CrcEntryLength));
                i = j;
            }
            lock (_gate)
            {
                long ordinal = _next;
                int r = 0;
                for (int i = 0; i < n; i++)
                {
                    if (kinds[i] != PreservedKind.Void)
                    {
                        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(crcs.Slice(i * CrcEntryLength));
                        FillRecord(buffer.Slice(r * RecordLength, RecordLength), ordinal + r, firstChunk + i, kinds[i], crc);
                        r++;
                    }
                }
                _index.Write(HeaderLength + ordinal * RecordLength, buffer.Slice(0, r * RecordLength));
                _next = ordinal + r;
                // Only after the writes: a flush that clears the flag before this point has to be followed by ours.
                _unsynced = true;
            }
            return records;
        }
        finally
        {
            if (rented != null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
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

    /// <summary>Makes an appended, flushed record visible (a chunk already published keeps its first record). A frozen
    /// index is thawed first.</summary>
    public void Publish(long chunk, PreservedKind kind)
    {
        lock (_gate)
        {
            Mutable().TryAdd(chunk, kind);
        }
    }

    /// <summary>
    /// Replaces the mutable in-memory index by an immutable compressed copy (<see cref="FrozenKindIndex"/>) and lets
    /// the mutable one go: for a log that takes no copy-on-write records (not the newest snapshot's). Reads work the
    /// same on either form; the next <see cref="Publish"/> or <see cref="Clear"/> thaws it. Does nothing when frozen.
    /// </summary>
    public void Freeze()
    {
        lock (_gate)
        {
            if (_kinds is ChunkKindIndex map)
            {
                _kinds = FrozenKindIndex.From(map);
            }
        }
    }

    /// <summary>Turns a frozen in-memory index back into a mutable one (for a log that becomes the newest snapshot's,
    /// so its first copy-on-write does not pay for it). Does nothing when not frozen.</summary>
    public void Thaw()
    {
        lock (_gate)
        {
            Mutable();
        }
    }

    /// <summary>Reads the preserved data of <paramref name="chunk"/> (a published data record) into
    /// <paramref name="buffer"/> (exactly one chunk) and verifies it against the chunk's CRC entry.</summary>
    /// <exception cref="SnapshotToolsException">The data does not match its CRC entry.</exception>
    public void ReadData(long chunk, Span<byte> buffer)
    {
        // No lock: a published chunk's slot and entry are never written again (only chunks without a published
        // record are appended).
        Span<byte> entry = stackalloc byte[CrcEntryLength];
        _data.Read(CrcEntryOffset(chunk, ChunkSize), entry);
        _data.Read(DataOffset(chunk, ChunkSize), buffer);
        if (Crc32C.Compute(buffer) != BinaryPrimitives.ReadUInt32LittleEndian(entry))
        {
            throw SnapshotToolsException.Corrupt($"'{DataName(Sequence)}'", $"preserved chunk {chunk}: data checksum mismatch");
        }
    }

    /// <summary>Returns the published records as (chunk, kind), in ascending chunk order.</summary>
    public List<(long Chunk, PreservedKind Kind)> Entries()
    {
        var list = new List<(long, PreservedKind)>();
        lock (_gate)
        {
            _kinds.CopyTo(list);
        }
        return list;
    }

    /// <summary>Sets, in <paramref name="target"/>, the bit of every published chunk below its bit count.</summary>
    public void UnionInto(ChunkBitmap target)
    {
        lock (_gate)
        {
            _kinds.UnionInto(target);
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
            _kinds = new ChunkKindIndex(_chunks);
            _next = 0;
        }
    }

    public void Dispose()
    {
        _index.Dispose();
        _data.Dispose();
    }

    /// <summary>Returns the mutable index, thawing a frozen one first. Caller holds <c>_gate</c>.</summary>
    private ChunkKindIndex Mutable()
    {
        if (_kinds is ChunkKindIndex map)
        {
            return map;
        }
        var thawed = new ChunkKindIndex(_chunks);
        ((FrozenKindIndex)_kinds).CopyTo(thawed);
        _kinds = thawed;
        return thawed;
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
        if (chunk < 0 || chunk > (1L << 61) - 1)
        {
            return $"chunk index {chunk} is out of range";
        }
        return null;
    }

    private void FillRecord(Span<byte> r, long ordinal, long chunk, PreservedKind kind, uint dataCrc)
    {
        r.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(R_CHUNK), (ulong)chunk);
        BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(R_ORDINAL), (ulong)ordinal);
        r[R_KIND] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_DATACRC), dataCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_SALT), _salt);
        BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(R_CRC), Crc32C.Compute(r.Slice(0, R_CRC)));
    }
}
