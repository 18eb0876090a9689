using System.Buffers.Binary;
using System.Security.Cryptography;
using SnapshotTools.Engine.Format;

namespace SnapshotTools.Engine.Streams;

/// <summary>
/// The delta stream's framing, in one place (the specification is docs/delta-stream.md).
/// </summary>
/// <remarks>
/// A stream is the 8-byte magic <c>STDELTA1</c> followed by records. Each record:
/// <code>
/// 00-01 type       u16
/// 02-03 flags      u16 (bit 0 critical, bit 1 compressed, bit 2 encrypted)
/// 04-07 length     u32, payload bytes as stored (at most MaxPayload)
/// 08-11 headerCrc  u32, CRC-32C of bytes 00-07: checked before the length is trusted
/// 12-   payload    length bytes
/// then  payloadCrc u32, CRC-32C of the stored payload
/// </code>
/// </remarks>
internal static class DeltaStreamFormat
{
    public const ulong Magic = 0x31415444454C5453; // "STDELTA1" little-endian
    public const int FormatVersion = 1;
    public const int FrameHeaderLength = 12;
    public const int MaxPayload = 16 * 1024 * 1024 + 4096;
    public const int TagLength = 16;
    public const int NonceLength = 12;

    private const int F_TYPE = 0;      // 00-01 [u16]
    private const int F_FLAGS = 2;     // 02-03 [u16]
    private const int F_LENGTH = 4;    // 04-07 [u32]
    private const int F_HEADERCRC = 8; // 08-11 [u32]

    public const ushort TypeHeader = 1;
    public const ushort TypeData = 2;
    public const ushort TypeZero = 3;
    public const ushort TypeUnmap = 4;
    public const ushort TypeResize = 5;
    public const ushort TypeEnd = 6;

    public const ushort FlagCritical = 1;
    public const ushort FlagCompressed = 2;
    public const ushort FlagEncrypted = 4;

    /// <summary>Data records carry offset (u64) and logical length (u32) before the data.</summary>
    public const int DataPrefixLength = 12;

    public static void WriteFrameHeader(Span<byte> header, ushort type, ushort flags, int length)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(F_TYPE), type);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(F_FLAGS), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(F_LENGTH), (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(F_HEADERCRC), Crc32C.Compute(header.Slice(0, F_HEADERCRC)));
    }

    /// <summary>Parses a frame header; returns a problem description or null.</summary>
    public static string? ReadFrameHeader(ReadOnlySpan<byte> header, out ushort type, out ushort flags, out int length)
    {
        type = BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(F_TYPE));
        flags = BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(F_FLAGS));
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(F_LENGTH));
        length = (int)Math.Min(len, int.MaxValue);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(F_HEADERCRC)) != Crc32C.Compute(header.Slice(0, F_HEADERCRC)))
        {
            return "record header checksum mismatch";
        }
        if (len > MaxPayload)
        {
            return $"record length {len} exceeds the maximum {MaxPayload}";
        }
        return null;
    }

    /// <summary>The per-record digest the END record's content hash is built from.</summary>
    public static void RecordDigest(ushort type, ReadOnlySpan<byte> logicalPayload, Span<byte> digest)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> prefix = stackalloc byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(prefix, type);
        BinaryPrimitives.WriteUInt64LittleEndian(prefix.Slice(2), (ulong)logicalPayload.Length);
        hash.AppendData(prefix);
        hash.AppendData(logicalPayload);
        hash.GetHashAndReset(digest);
    }

    /// <summary>The AES-GCM nonce of record <paramref name="index"/>: the stream's 4-byte prefix and the index.</summary>
    public static void Nonce(ReadOnlySpan<byte> prefix, long index, Span<byte> nonce)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteInt64LittleEndian(nonce.Slice(4), index);
    }

    /// <summary>Associated data of an encrypted record: its frame fields, its index and the stream id.</summary>
    public static byte[] AssociatedData(ushort type, ushort flags, int length, long index, ReadOnlySpan<byte> streamId)
    {
        byte[] aad = new byte[16 + streamId.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(aad.AsSpan(0), type);
        BinaryPrimitives.WriteUInt16LittleEndian(aad.AsSpan(2), flags);
        BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(4), length);
        BinaryPrimitives.WriteInt64LittleEndian(aad.AsSpan(8), index);
        streamId.CopyTo(aad.AsSpan(16));
        return aad;
    }

    public static byte[] EncodeHeader(DeltaStreamHeader h, ReadOnlySpan<byte> noncePrefix, byte[]? key)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(h.FormatVersion);
            w.Write(h.VolumeId.ToByteArray());
            w.Write(h.Generation);
            w.Write(h.FromSnapshotId.HasValue);
            w.Write((h.FromSnapshotId ?? Guid.Empty).ToByteArray());
            w.Write(h.FromSequence);
            w.Write(h.FromName ?? "");
            w.Write(h.ToSnapshotId.ToByteArray());
            w.Write(h.ToSequence);
            w.Write(h.ToName);
            w.Write(h.ToCreatedUtc.UtcTicks);
            w.Write(h.ToDescription != null);
            w.Write(h.ToDescription ?? "");
            w.Write(h.ChunkSize);
            w.Write(h.FromSize);
            w.Write(h.ToSize);
            w.Write(h.CreatedUtc.UtcTicks);
            w.Write((byte)h.Compression);
            w.Write((byte)(key != null ? 1 : 0));
            if (key != null)
            {
                w.Write(noncePrefix);
                w.Write(StreamKey.KeyId(key));
            }
        }
        if (key != null)
        {
            // The key check authenticates the header: a GCM tag over nothing, with the header as associated data.
            byte[] body = ms.ToArray();
            byte[] tag = KeyCheck(key, noncePrefix, body);
            ms.Write(tag);
        }
        return ms.ToArray();
    }

    /// <exception cref="SnapshotToolsException">Malformed header (CorruptStream), newer version, wrong or missing key.</exception>
    public static DeltaStreamHeader DecodeHeader(ReadOnlySpan<byte> payload, byte[]? key, out byte[] noncePrefix)
    {
        noncePrefix = Array.Empty<byte>();
        try
        {
            using var r = new BinaryReader(new MemoryStream(payload.ToArray()));
            int version = r.ReadInt32();
            if (version > FormatVersion)
            {
                throw SnapshotToolsException.Unsupported("the delta stream", version);
            }
            Guid volumeId = new(r.ReadBytes(16));
            long generation = r.ReadInt64();
            bool hasFrom = r.ReadBoolean();
            Guid fromId = new(r.ReadBytes(16));
            long fromSeq = r.ReadInt64();
            string fromName = r.ReadString();
            Guid toId = new(r.ReadBytes(16));
            long toSeq = r.ReadInt64();
            string toName = r.ReadString();
            var toCreated = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            bool hasDescription = r.ReadBoolean();
            string description = r.ReadString();
            int chunkSize = r.ReadInt32();
            long fromSize = r.ReadInt64();
            long toSize = r.ReadInt64();
            var created = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var compression = (StreamCompression)r.ReadByte();
            int encryption = r.ReadByte();
            if (compression > StreamCompression.Zstd || encryption > 1 || toSize <= 0 || fromSize < 0 || chunkSize <= 0)
            {
                throw new InvalidDataException("header fields out of range");
            }
            if (encryption == 1)
            {
                noncePrefix = r.ReadBytes(4);
                byte[] keyId = r.ReadBytes(16);
                int bodyLength = (int)r.BaseStream.Position;
                byte[] tag = r.ReadBytes(TagLength);
                if (tag.Length != TagLength)
                {
                    throw new EndOfStreamException();
                }
                if (key == null)
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.KeyRequired, "The delta stream is encrypted; give the key file it was written with.");
                }
                if (!keyId.AsSpan().SequenceEqual(StreamKey.KeyId(key)))
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.WrongKey, "The key does not match the key the delta stream was encrypted with.");
                }
                if (!KeyCheck(key, noncePrefix, payload.Slice(0, bodyLength).ToArray()).AsSpan().SequenceEqual(tag))
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream, "The delta stream's header fails its authentication with the given key: it was altered.");
                }
            }
            else if (key != null)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.KeyRequired, "A key was given but the delta stream is not encrypted.");
            }
            if (r.BaseStream.Position != payload.Length)
            {
                throw new InvalidDataException("trailing bytes in the header");
            }
            return new DeltaStreamHeader(version, volumeId, generation, hasFrom ? fromId : null, fromSeq, hasFrom ? fromName : null,
                toId, toSeq, toName, toCreated, hasDescription ? description : null, chunkSize, fromSize, toSize, created, compression, encryption == 1);
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream, "The delta stream's header is malformed: " + ex.Message, ex);
        }
    }

    private static byte[] KeyCheck(byte[] key, ReadOnlySpan<byte> noncePrefix, byte[] associated)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        Nonce(noncePrefix, -1, nonce);
        byte[] tag = new byte[TagLength];
        using var gcm = new AesGcm(key, TagLength);
        gcm.Encrypt(nonce, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, tag, associated);
        return tag;
    }
}
