using System.Buffers.Binary;
using System.Security.Cryptography;
using SnapshotTools.Engine.Format;

namespace SnapshotTools.Engine.Streams;

/// <summary>The kind of a delta stream record.</summary>
public enum DeltaRecordKind
{
    /// <summary>Bytes to write at an offset.</summary>
    Data,
    /// <summary>A range that reads as zeros (allocated).</summary>
    Zero,
    /// <summary>A range that is not in use.</summary>
    Unmap,
    /// <summary>The volume's new size (the offset field holds it).</summary>
    Resize,
}

/// <summary>One verified record of a delta stream. <see cref="Data"/> is valid until the next read.</summary>
public readonly record struct DeltaRecord(long Index, DeltaRecordKind Kind, long Offset, long Length, ReadOnlyMemory<byte> Data, uint Crc);

/// <summary>
/// Reads and verifies a delta stream: every record's header checksum before its length is trusted, its payload
/// checksum (and authentication tag, when encrypted) before any field is used, and the END record's counts and
/// SHA-256 before <see cref="TryRead"/> reports the end. Works on non-seekable input.
/// </summary>
public sealed class DeltaStreamReader : IDisposable
{
    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly byte[]? _key;
    private readonly byte[] _noncePrefix;
    private readonly IncrementalHash _content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _frame = new byte[DeltaStreamFormat.FrameHeaderLength];
    private readonly byte[] _digest = new byte[32];
    private readonly AesGcm? _gcm;
    private byte[] _payload = new byte[64 * 1024];
    private byte[] _logical = new byte[64 * 1024];
    private long _index;
    private long _position;
    private long _size;
    private long _dataBytes;
    private long _zeroBytes;
    private long _unmapBytes;
    private bool _ended;

    /// <summary>Opens a stream and reads and verifies its HEADER record.</summary>
    /// <exception cref="SnapshotToolsException">Not a delta stream, corrupt or truncated header, newer version,
    /// missing or wrong key.</exception>
    public DeltaStreamReader(Stream input, byte[]? key = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        _input = input;
        _leaveOpen = leaveOpen;
        _key = key;
        byte[] magic = new byte[8];
        if (ReadExactly(magic) < 8)
        {
            throw Truncated("before its magic");
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(magic) != DeltaStreamFormat.Magic)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream, "This is not a SnapshotTools delta stream (wrong magic).");
        }
        (ushort type, _, ReadOnlyMemory<byte> payload, uint crc) = ReadFrame();
        if (type != DeltaStreamFormat.TypeHeader)
        {
            throw Corrupt($"the first record is of type {type}, not HEADER");
        }
        byte[] headerPayload = payload.ToArray();
        Header = DeltaStreamFormat.DecodeHeader(headerPayload, key, out _noncePrefix);
        StreamId = SHA256.HashData(headerPayload);
        HeaderCrc = crc;
        if (key != null)
        {
            _gcm = new AesGcm(key, DeltaStreamFormat.TagLength);
        }
        DeltaStreamFormat.RecordDigest(type, headerPayload, _digest);
        _content.AppendData(_digest);
        _index = 1;
        _size = Header.FromSize;
    }

    /// <summary>Gets the stream's header.</summary>
    public DeltaStreamHeader Header { get; }

    /// <summary>Gets the stream id: SHA-256 of the HEADER record's payload.</summary>
    public byte[] StreamId { get; }

    /// <summary>Gets the payload CRC of the HEADER record.</summary>
    public uint HeaderCrc { get; }

    /// <summary>Gets the totals once the END record has been verified; null before.</summary>
    public DeltaStreamSummary? Summary { get; private set; }

    /// <summary>Gets the bytes read so far.</summary>
    public long Position => _position;

    /// <summary>Reads the next record. Returns false once END has been read and verified and the input is exhausted.</summary>
    /// <exception cref="SnapshotToolsException">CorruptStream (checksum, authentication, structure, END mismatch,
    /// data after END), TruncatedStream, or UnsupportedFormat (an unknown critical record).</exception>
    public bool TryRead(out DeltaRecord record)
    {
        record = default;
        while (!_ended)
        {
            long index = _index;
            (ushort type, ushort flags, ReadOnlyMemory<byte> stored, uint crc) = ReadFrame();
            ReadOnlySpan<byte> plain = Decrypt(type, flags, stored.Span, index);
            _index++;
            switch (type)
            {
                case DeltaStreamFormat.TypeData:
                {
                    if (plain.Length < DeltaStreamFormat.DataPrefixLength)
                    {
                        throw Corrupt($"DATA record {index} is too short");
                    }
                    long offset = BinaryPrimitives.ReadInt64LittleEndian(plain);
                    int length = BinaryPrimitives.ReadInt32LittleEndian(plain.Slice(8));
                    CheckRange("DATA", index, offset, length);
                    int logicalLength = DeltaStreamFormat.DataPrefixLength + length;
                    if (length > DeltaStreamFormat.MaxPayload)
                    {
                        throw Corrupt($"DATA record {index} claims {length} bytes");
                    }
                    EnsureCapacity(ref _logical, logicalLength);
                    plain.Slice(0, DeltaStreamFormat.DataPrefixLength).CopyTo(_logical);
                    if ((flags & DeltaStreamFormat.FlagCompressed) != 0)
                    {
                        try
                        {
                            StreamCodecs.Decompress(Header.Compression, plain.Slice(DeltaStreamFormat.DataPrefixLength), _logical.AsSpan(DeltaStreamFormat.DataPrefixLength, length));
                        }
                        catch (InvalidDataException ex)
                        {
                            throw Corrupt($"DATA record {index}: {ex.Message}");
                        }
                    }
                    else
                    {
                        if (plain.Length != logicalLength)
                        {
                            throw Corrupt($"DATA record {index} holds {plain.Length - DeltaStreamFormat.DataPrefixLength} bytes but claims {length}");
                        }
                        plain.Slice(DeltaStreamFormat.DataPrefixLength).CopyTo(_logical.AsSpan(DeltaStreamFormat.DataPrefixLength));
                    }
                    Digest(type, _logical.AsSpan(0, logicalLength));
                    _dataBytes += length;
                    record = new DeltaRecord(index, DeltaRecordKind.Data, offset, length, _logical.AsMemory(DeltaStreamFormat.DataPrefixLength, length), crc);
                    return true;
                }
                case DeltaStreamFormat.TypeZero:
                case DeltaStreamFormat.TypeUnmap:
                {
                    string name = type == DeltaStreamFormat.TypeZero ? "ZERO" : "UNMAP";
                    if (plain.Length != 16)
                    {
                        throw Corrupt($"{name} record {index} has length {plain.Length}, not 16");
                    }
                    long offset = BinaryPrimitives.ReadInt64LittleEndian(plain);
                    long length = BinaryPrimitives.ReadInt64LittleEndian(plain.Slice(8));
                    CheckRange(name, index, offset, length);
                    Digest(type, plain);
                    if (type == DeltaStreamFormat.TypeZero)
                    {
                        _zeroBytes += length;
                    }
                    else
                    {
                        _unmapBytes += length;
                    }
                    record = new DeltaRecord(index, type == DeltaStreamFormat.TypeZero ? DeltaRecordKind.Zero : DeltaRecordKind.Unmap, offset, length, ReadOnlyMemory<byte>.Empty, crc);
                    return true;
                }
                case DeltaStreamFormat.TypeResize:
                {
                    if (plain.Length != 8)
                    {
                        throw Corrupt($"RESIZE record {index} has length {plain.Length}, not 8");
                    }
                    long size = BinaryPrimitives.ReadInt64LittleEndian(plain);
                    if (size <= 0 || size != Header.ToSize)
                    {
                        throw Corrupt($"RESIZE record {index} names size {size}, but the header says {Header.ToSize}");
                    }
                    _size = size;
                    Digest(type, plain);
                    record = new DeltaRecord(index, DeltaRecordKind.Resize, size, 0, ReadOnlyMemory<byte>.Empty, crc);
                    return true;
                }
                case DeltaStreamFormat.TypeEnd:
                    VerifyEnd(plain, index);
                    return false;
                case DeltaStreamFormat.TypeHeader:
                    throw Corrupt($"record {index} is a second HEADER");
                default:
                    if ((flags & DeltaStreamFormat.FlagCritical) != 0)
                    {
                        throw new SnapshotToolsException(SnapshotErrorCode.UnsupportedFormat,
                            $"The delta stream's record {index} has type {type}, which this version does not know and which is marked critical.");
                    }
                    // A later version's optional record: skip it, but it still counts in the content hash.
                    Digest(type, plain);
                    continue;
            }
        }
        return false;
    }

    /// <summary>Reads and verifies the whole remaining stream without using the records.</summary>
    /// <exception cref="SnapshotToolsException">As <see cref="TryRead"/>.</exception>
    public DeltaStreamSummary VerifyToEnd(CancellationToken cancellationToken = default)
    {
        while (TryRead(out _))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
        return Summary!;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gcm?.Dispose();
        _content.Dispose();
        if (!_leaveOpen)
        {
            _input.Dispose();
        }
    }

    private void VerifyEnd(ReadOnlySpan<byte> plain, long index)
    {
        if (plain.Length != 64)
        {
            throw Corrupt($"END record {index} has length {plain.Length}, not 64");
        }
        long records = BinaryPrimitives.ReadInt64LittleEndian(plain);
        long data = BinaryPrimitives.ReadInt64LittleEndian(plain.Slice(8));
        long zero = BinaryPrimitives.ReadInt64LittleEndian(plain.Slice(16));
        long unmap = BinaryPrimitives.ReadInt64LittleEndian(plain.Slice(24));
        byte[] hash = _content.GetHashAndReset();
        if (records != index + 1)
        {
            throw Corrupt($"the END record counts {records} records but the stream has {index + 1}: records are missing or extra");
        }
        if (data != _dataBytes || zero != _zeroBytes || unmap != _unmapBytes)
        {
            throw Corrupt("the END record's byte counts do not match the records");
        }
        if (!hash.AsSpan().SequenceEqual(plain.Slice(32, 32)))
        {
            throw Corrupt("the content's SHA-256 does not match the END record");
        }
        byte[] probe = new byte[1];
        if (_input.Read(probe, 0, 1) != 0)
        {
            throw Corrupt("there is data after the END record");
        }
        _ended = true;
        Summary = new DeltaStreamSummary(Header, StreamId, records, data, zero, unmap, _position, hash);
    }

    private void CheckRange(string name, long index, long offset, long length)
    {
        long size = Math.Max(_size, Header.ToSize);
        if (offset < 0 || length <= 0 || offset > size || length > size - offset)
        {
            throw Corrupt($"{name} record {index} covers offset {offset} length {length}, outside the volume size {size}");
        }
    }

    private void Digest(ushort type, ReadOnlySpan<byte> logical)
    {
        DeltaStreamFormat.RecordDigest(type, logical, _digest);
        _content.AppendData(_digest);
    }

    private ReadOnlySpan<byte> Decrypt(ushort type, ushort flags, ReadOnlySpan<byte> stored, long index)
    {
        bool encrypted = (flags & DeltaStreamFormat.FlagEncrypted) != 0;
        if (encrypted != Header.Encrypted)
        {
            throw Corrupt($"record {index} is {(encrypted ? "" : "not ")}encrypted, unlike the stream");
        }
        if (!encrypted)
        {
            return stored;
        }
        if (stored.Length < DeltaStreamFormat.TagLength)
        {
            throw Corrupt($"encrypted record {index} is shorter than its tag");
        }
        int plainLength = stored.Length - DeltaStreamFormat.TagLength;
        EnsureCapacity(ref _payloadPlain, plainLength);
        Span<byte> nonce = stackalloc byte[DeltaStreamFormat.NonceLength];
        DeltaStreamFormat.Nonce(_noncePrefix, index, nonce);
        byte[] aad = DeltaStreamFormat.AssociatedData(type, flags, stored.Length, index, StreamId);
        try
        {
            _gcm!.Decrypt(nonce, stored.Slice(0, plainLength), stored.Slice(plainLength), _payloadPlain.AsSpan(0, plainLength), aad);
        }
        catch (CryptographicException)
        {
            throw Corrupt($"record {index} fails its authentication: it was altered, reordered or taken from another stream");
        }
        return _payloadPlain.AsSpan(0, plainLength);
    }

    private byte[] _payloadPlain = new byte[64 * 1024];

    private (ushort Type, ushort Flags, ReadOnlyMemory<byte> Payload, uint Crc) ReadFrame()
    {
        long at = _position;
        int got = ReadExactly(_frame);
        if (got == 0)
        {
            throw Truncated($"after record {_index - 1} (offset {at}), before its END record");
        }
        if (got < _frame.Length)
        {
            throw Truncated($"inside the header of record {_index} (offset {at})");
        }
        string? problem = DeltaStreamFormat.ReadFrameHeader(_frame, out ushort type, out ushort flags, out int length);
        if (problem != null)
        {
            throw Corrupt($"record {_index} at offset {at}: {problem}");
        }
        EnsureCapacity(ref _payload, length + 4);
        if (ReadExactly(_payload.AsSpan(0, length + 4)) < length + 4)
        {
            throw Truncated($"inside record {_index} (offset {at})");
        }
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(_payload.AsSpan(length));
        if (crc != Crc32C.Compute(_payload.AsSpan(0, length)))
        {
            throw Corrupt($"record {_index} at offset {at}: payload checksum mismatch");
        }
        return (type, flags, _payload.AsMemory(0, length), crc);
    }

    private int ReadExactly(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _input.Read(buffer.Slice(total));
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        _position += total;
        return total;
    }

    private static void EnsureCapacity(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new byte[Math.Max(length, buffer.Length * 2)];
        }
    }

    private static SnapshotToolsException Corrupt(string detail) =>
        new(SnapshotErrorCode.CorruptStream, "The delta stream is corrupt: " + detail + ".");

    private static SnapshotToolsException Truncated(string where) =>
        new(SnapshotErrorCode.TruncatedStream, "The delta stream is truncated: it ends " + where + ".");
}
