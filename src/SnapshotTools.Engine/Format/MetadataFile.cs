using System.Buffers.Binary;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Engine.Format;

/// <summary>
/// A piece of metadata kept as two copies (<c>NAME.0</c>, <c>NAME.1</c>) with sequence numbers, written alternately;
/// the newest copy whose checksums hold wins (the VHDX header model). A torn write damages at most the copy being
/// written, so the previous state survives.
/// </summary>
/// <remarks>
/// Layout of each copy (little-endian):
/// <code>
/// 00-07  magic        8 bytes, per kind of metadata
/// 08-11  version      u32, format version of the body
/// 12-15  headerLength u32, = 64
/// 16-23  sequence     u64, incremented on each write
/// 24-31  bodyLength   u64
/// 32-35  bodyCrc      u32, CRC-32C of the body
/// 36-59  reserved     zero
/// 60-63  headerCrc    u32, CRC-32C of bytes 00-59
/// 64-    body
/// </code>
/// </remarks>
internal sealed class MetadataFile
{
    public const int HeaderLength = 64;
    private const int P_MAGIC = 0;       // 00-07 [8 bytes]
    private const int P_VERSION = 8;     // 08-11 [u32]
    private const int P_HEADERLEN = 12;  // 12-15 [u32]
    private const int P_SEQUENCE = 16;   // 16-23 [u64]
    private const int P_BODYLEN = 24;    // 24-31 [u64]
    private const int P_BODYCRC = 32;    // 32-35 [u32]
    private const int P_HEADERCRC = 60;  // 60-63 [u32]

    private readonly IStorage _storage;
    private readonly string _name;
    private readonly ulong _magic;
    private readonly int _version;

    public MetadataFile(IStorage storage, string name, ulong magic, int version)
    {
        _storage = storage;
        _name = name;
        _magic = magic;
        _version = version;
    }

    /// <summary>Gets the sequence number of the copy last read or written.</summary>
    public ulong Sequence { get; set; }

    /// <summary>Gets how many copies existed but failed validation at the last <see cref="Read"/>.</summary>
    public int InvalidCopies { get; private set; }

    public string CopyName(int slot) => _name + "." + slot;

    public bool AnyExists() => _storage.Exists(CopyName(0)) || _storage.Exists(CopyName(1));

    /// <summary>Reads the newest valid copy.</summary>
    /// <exception cref="SnapshotToolsException">No copy is valid (<see cref="SnapshotErrorCode.CorruptMetadata"/>),
    /// or the newest is of a newer format (<see cref="SnapshotErrorCode.UnsupportedFormat"/>).</exception>
    public byte[] Read()
    {
        byte[]? best = null;
        ulong bestSeq = 0;
        InvalidCopies = 0;
        var problems = new List<string>();
        for (int slot = 0; slot < 2; slot++)
        {
            string copy = CopyName(slot);
            if (!_storage.Exists(copy))
            {
                problems.Add($"{copy} is missing");
                continue;
            }
            using IStorageFile file = _storage.Open(copy, create: false);
            string? problem = TryReadCopy(file, out byte[]? body, out ulong seq);
            if (problem != null)
            {
                problems.Add($"{copy}: {problem}");
                InvalidCopies++;
                continue;
            }
            if (best == null || seq > bestSeq)
            {
                best = body;
                bestSeq = seq;
            }
        }
        if (best == null)
        {
            throw SnapshotToolsException.Corrupt($"'{_name}' in {_storage.Location}", "no valid copy (" + string.Join("; ", problems) + ")");
        }
        Sequence = bestSeq;
        return best;
    }

    /// <summary>Writes <paramref name="body"/> as the next copy and makes it durable.</summary>
    public void Write(ReadOnlySpan<byte> body)
    {
        ulong seq = Sequence + 1;
        byte[] buffer = new byte[HeaderLength + body.Length];
        Span<byte> h = buffer.AsSpan(0, HeaderLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(P_MAGIC), _magic);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(P_VERSION), (uint)_version);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(P_HEADERLEN), HeaderLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(P_SEQUENCE), seq);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(P_BODYLEN), (ulong)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(P_BODYCRC), Crc32C.Compute(body));
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(P_HEADERCRC), Crc32C.Compute(h.Slice(0, P_HEADERCRC)));
        body.CopyTo(buffer.AsSpan(HeaderLength));
        using IStorageFile file = _storage.Open(CopyName((int)(seq % 2)), create: true);
        file.Write(0, buffer);
        if (file.Length > buffer.Length)
        {
            file.SetLength(buffer.Length);
        }
        file.Flush();
        Sequence = seq;
    }

    private string? TryReadCopy(IStorageFile file, out byte[]? body, out ulong seq)
    {
        body = null;
        seq = 0;
        if (file.Length < HeaderLength)
        {
            return "shorter than its header";
        }
        Span<byte> h = stackalloc byte[HeaderLength];
        file.Read(0, h);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(P_HEADERCRC)) != Crc32C.Compute(h.Slice(0, P_HEADERCRC)))
        {
            return "header checksum mismatch";
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(P_MAGIC)) != _magic)
        {
            return "wrong magic";
        }
        int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(P_VERSION));
        if (version > _version)
        {
            throw SnapshotToolsException.Unsupported($"'{_name}' in {_storage.Location}", version);
        }
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(P_BODYLEN));
        if (length > (ulong)(file.Length - HeaderLength))
        {
            return "truncated body";
        }
        byte[] data = new byte[length];
        file.Read(HeaderLength, data);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(P_BODYCRC)) != Crc32C.Compute(data))
        {
            return "body checksum mismatch";
        }
        seq = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(P_SEQUENCE));
        body = data;
        return null;
    }
}
