using System.Buffers.Binary;
using SnapshotTools.Engine.Format;

namespace SnapshotTools.Engine;

/// <summary>
/// The chunks written in an interval of a volume's history: between two snapshots, or from a snapshot to the live
/// volume. A map carries the identity it was made for (volume id, generation, chunk size) and the sizes at both ends
/// (seed 000), so that a map applied to the wrong incarnation or size is refused instead of silently producing a
/// wrong incremental. Maps of successive intervals merge by OR (seed 003's master bitmap).
/// </summary>
public sealed class ChangeMap
{
    private const ulong Magic = 0x3150414D48435453; // "STCHMAP1"
    private const int Version = 1;
    private const int HeaderLength = 96;
    private readonly Maps.ChunkBitmap _bits;

    internal ChangeMap(Guid volumeId, long generation, int chunkSize, long fromSequence, long toSequence, long fromSize, long toSize, Maps.ChunkBitmap bits)
    {
        VolumeId = volumeId;
        Generation = generation;
        ChunkSize = chunkSize;
        FromSequence = fromSequence;
        ToSequence = toSequence;
        FromSize = fromSize;
        ToSize = toSize;
        _bits = bits;
    }

    /// <summary>Gets the volume the map belongs to.</summary>
    public Guid VolumeId { get; }

    /// <summary>Gets the volume generation the map belongs to.</summary>
    public long Generation { get; }

    /// <summary>Gets the chunk size the map counts in.</summary>
    public int ChunkSize { get; }

    /// <summary>Gets the sequence number of the snapshot at the older end.</summary>
    public long FromSequence { get; }

    /// <summary>Gets the sequence number of the snapshot at the newer end, or 0 for the live volume.</summary>
    public long ToSequence { get; }

    /// <summary>Gets the volume size at the older end.</summary>
    public long FromSize { get; }

    /// <summary>Gets the volume size at the newer end; the map covers the chunks of this size.</summary>
    public long ToSize { get; }

    /// <summary>Gets the number of chunks the map covers.</summary>
    public long ChunkCount => _bits.Count;

    /// <summary>Gets the number of changed chunks.</summary>
    public long ChangedChunks => _bits.PopCount();

    internal Maps.ChunkBitmap Bits => _bits;

    /// <summary>Returns whether chunk <paramref name="chunk"/> changed in the interval.</summary>
    public bool IsChanged(long chunk) => chunk >= 0 && chunk < _bits.Count && _bits.Get(chunk);

    /// <summary>Returns the changed chunk indexes in ascending order.</summary>
    public IEnumerable<long> ChangedChunkIndexes()
    {
        for (long c = _bits.NextSet(0); c >= 0; c = _bits.NextSet(c + 1))
        {
            yield return c;
        }
    }

    /// <summary>
    /// Merges the map of an interval with the map of the interval that follows it: a chunk changed in either is
    /// changed in the result, and space the volume grew by in between counts as changed.
    /// </summary>
    /// <exception cref="SnapshotToolsException">The maps belong to different volumes (ForeignVolume), generations
    /// (GenerationMismatch) or chunk sizes, or are not consecutive (InvalidArgument).</exception>
    public static ChangeMap Merge(ChangeMap older, ChangeMap newer)
    {
        ArgumentNullException.ThrowIfNull(older);
        ArgumentNullException.ThrowIfNull(newer);
        if (older.VolumeId != newer.VolumeId)
        {
            throw SnapshotToolsException.Foreign("change map", older.VolumeId, newer.VolumeId);
        }
        if (older.Generation != newer.Generation)
        {
            throw SnapshotToolsException.GenerationMismatch("change map", older.Generation, newer.Generation);
        }
        if (older.ChunkSize != newer.ChunkSize)
        {
            throw SnapshotToolsException.Invalid("change maps", $"chunk sizes differ ({older.ChunkSize} and {newer.ChunkSize})");
        }
        if (older.ToSequence != newer.FromSequence || older.ToSequence == 0)
        {
            throw SnapshotToolsException.Invalid("change maps", $"the intervals {older.FromSequence}..{older.ToSequence} and {newer.FromSequence}..{newer.ToSequence} are not consecutive");
        }
        if (older.ToSize != newer.FromSize)
        {
            throw SnapshotToolsException.SizeMismatch("change map merge", older.ToSize, newer.FromSize);
        }
        var bits = new Maps.ChunkBitmap(newer._bits.Count, (ulong[])newer._bits.Words.Clone());
        long common = Math.Min(bits.Count, older._bits.Count);
        for (long c = older._bits.NextSet(0); c >= 0 && c < common; c = older._bits.NextSet(c + 1))
        {
            bits.Set(c);
        }
        MarkResized(bits, older.FromSize, newer.ToSize, older.ChunkSize);
        return new ChangeMap(older.VolumeId, older.Generation, older.ChunkSize, older.FromSequence, newer.ToSequence, older.FromSize, newer.ToSize, bits);
    }

    /// <summary>Serializes the map with a checksummed header, for callers that keep maps (seed 000 persistent maps).</summary>
    public byte[] ToBytes()
    {
        ulong[] words = _bits.Words;
        byte[] buffer = new byte[HeaderLength + words.Length * 8];
        Span<byte> h = buffer.AsSpan(0, HeaderLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(0), Magic);               // 00-07 magic
        BinaryPrimitives.WriteInt32LittleEndian(h.Slice(8), Version);              // 08-11 version
        BinaryPrimitives.WriteInt32LittleEndian(h.Slice(12), ChunkSize);           // 12-15 chunk size
        VolumeId.TryWriteBytes(h.Slice(16, 16));                                   // 16-31 volume id
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(32), Generation);          // 32-39 generation
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(40), FromSequence);        // 40-47
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(48), ToSequence);          // 48-55
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(56), FromSize);            // 56-63
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(64), ToSize);              // 64-71
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(72), _bits.Count);         // 72-79 chunk count
        for (int i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(HeaderLength + i * 8), words[i]);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(80), Crc32C.Compute(buffer.AsSpan(HeaderLength))); // 80-83 body CRC
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(92), Crc32C.Compute(h.Slice(0, 92)));              // 92-95 header CRC
        return buffer;
    }

    /// <summary>Reads a map written by <see cref="ToBytes"/>, verifying its checksums.</summary>
    /// <exception cref="SnapshotToolsException">The bytes are not a valid change map (CorruptMetadata).</exception>
    public static ChangeMap FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength)
        {
            throw SnapshotToolsException.Corrupt("change map", "shorter than its header");
        }
        ReadOnlySpan<byte> h = bytes.Slice(0, HeaderLength);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(92)) != Crc32C.Compute(h.Slice(0, 92)))
        {
            throw SnapshotToolsException.Corrupt("change map", "header checksum mismatch");
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(h) != Magic)
        {
            throw SnapshotToolsException.Corrupt("change map", "wrong magic");
        }
        int version = BinaryPrimitives.ReadInt32LittleEndian(h.Slice(8));
        if (version > Version)
        {
            throw SnapshotToolsException.Unsupported("change map", version);
        }
        long count = BinaryPrimitives.ReadInt64LittleEndian(h.Slice(72));
        long words = Maps.ChunkBitmap.WordsFor(count);
        if (count < 0 || bytes.Length != HeaderLength + words * 8)
        {
            throw SnapshotToolsException.Corrupt("change map", "length does not match its chunk count");
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(80)) != Crc32C.Compute(bytes.Slice(HeaderLength)))
        {
            throw SnapshotToolsException.Corrupt("change map", "body checksum mismatch");
        }
        var data = new ulong[words];
        for (int i = 0; i < words; i++)
        {
            data[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(HeaderLength + i * 8));
        }
        return new ChangeMap(
            new Guid(h.Slice(16, 16)),
            BinaryPrimitives.ReadInt64LittleEndian(h.Slice(32)),
            BinaryPrimitives.ReadInt32LittleEndian(h.Slice(12)),
            BinaryPrimitives.ReadInt64LittleEndian(h.Slice(40)),
            BinaryPrimitives.ReadInt64LittleEndian(h.Slice(48)),
            BinaryPrimitives.ReadInt64LittleEndian(h.Slice(56)),
            BinaryPrimitives.ReadInt64LittleEndian(h.Slice(64)),
            new Maps.ChunkBitmap(count, data));
    }

    /// <summary>Marks the chunks a size change between the ends affects: grown space, and a partial last chunk.</summary>
    internal static void MarkResized(Maps.ChunkBitmap bits, long fromSize, long toSize, int chunkSize)
    {
        if (toSize == fromSize)
        {
            return;
        }
        long first = Math.Min(fromSize, toSize) / chunkSize;
        long chunks = bits.Count;
        if (toSize > fromSize)
        {
            bits.SetRange(first, chunks);
        }
        else if (first < chunks)
        {
            bits.Set(first);
        }
    }
}
