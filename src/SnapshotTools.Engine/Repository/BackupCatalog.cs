using System.Buffers.Binary;
using System.Text;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>
/// The repository's catalog file (<c>catalog</c>): every backup's entry, each framed and checksummed on its own, so a
/// damaged entry is recognised and set aside while the others stay usable (docs/repository-format.md).
/// </summary>
/// <remarks>
/// <code>
/// header (64 bytes)
/// 00-07  magic        "STCATLG1"
/// 08-11  version      u32 = 1
/// 12-15  headerLength u32 = 64
/// 16-23  sequence     u64, incremented on every save
/// 24-27  records      u32, records that follow
/// 28-43  repositoryId 16 bytes
/// 44-51  createdUtc   i64 ticks
/// 52-59  reserved     zero
/// 60-63  headerCrc    u32, CRC-32C of bytes 00-59
/// record (16-byte frame, then the body)
/// 00-01  type         u16: 1 backup entry, 2 quarantined damage
/// 02-03  reserved     zero
/// 04-07  length       u32, body bytes (at most 1 MiB)
/// 08-11  bodyCrc      u32, CRC-32C of the body
/// 12-15  frameCrc     u32, CRC-32C of bytes 00-11: checked before the length is trusted
/// </code>
/// A damaged entry is carried forward verbatim in a quarantine record (type 2) on every later save, so the damage stays
/// visible (and stream files the catalog cannot account for are never cleaned up) until <c>Repair</c> rebuilds the
/// entries from the stream files.
/// </remarks>
internal sealed class BackupCatalog
{
    public const string FileName = "catalog";
    public const ulong Magic = 0x31474C5441435453; // "STCATLG1" little-endian
    public const int Version = 1;
    public const int HeaderLength = 64;
    public const int FrameLength = 16;
    public const int MaxBody = 1024 * 1024;
    public const ushort TypeEntry = 1;
    public const ushort TypeQuarantine = 2;

    private const int H_MAGIC = 0;      // 00-07 [8 bytes]
    private const int H_VERSION = 8;    // 08-11 [u32]
    private const int H_HEADERLEN = 12; // 12-15 [u32]
    private const int H_SEQUENCE = 16;  // 16-23 [u64]
    private const int H_RECORDS = 24;   // 24-27 [u32]
    private const int H_REPOID = 28;    // 28-43 [16 bytes]
    private const int H_CREATED = 44;   // 44-51 [i64]
    private const int H_HEADERCRC = 60; // 60-63 [u32]

    private const int F_TYPE = 0;       // 00-01 [u16]
    private const int F_LENGTH = 4;     // 04-07 [u32]
    private const int F_BODYCRC = 8;    // 08-11 [u32]
    private const int F_FRAMECRC = 12;  // 12-15 [u32]

    private const int EntryVersion = 1;

    public Guid RepositoryId { get; private set; } = Guid.NewGuid();

    public DateTimeOffset CreatedUtc { get; private set; } = DateTimeOffset.UtcNow;

    public ulong Sequence { get; private set; }

    /// <summary>Gets the entries whose checksums hold, in catalog order.</summary>
    public List<BackupInfo> Entries { get; } = new();

    /// <summary>Gets the damaged parts of the catalog, each with what is known about it.</summary>
    public List<QuarantinedRecord> Quarantine { get; } = new();

    /// <summary>Gets whether any part of the catalog is damaged (and so stream files may be unaccounted for).</summary>
    public bool IsDamaged => Quarantine.Count > 0;

    /// <summary>Loads a catalog file, setting aside what fails its checksums.</summary>
    /// <exception cref="SnapshotToolsException">The catalog is of a newer format (UnsupportedFormat).</exception>
    public static BackupCatalog Load(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var catalog = new BackupCatalog();
        long expectedRecords = -1;
        if (file.Length < HeaderLength)
        {
            catalog.Quarantine.Add(new QuarantinedRecord($"the catalog is {file.Length} bytes, shorter than its header", file));
            return catalog;
        }
        ReadOnlySpan<byte> h = file.AsSpan(0, HeaderLength);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_HEADERCRC)) == Crc32C.Compute(h.Slice(0, H_HEADERCRC))
            && BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(H_MAGIC)) == Magic)
        {
            int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_VERSION));
            if (version > Version)
            {
                throw SnapshotToolsException.Unsupported($"The repository catalog '{path}'", version);
            }
            catalog.Sequence = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(H_SEQUENCE));
            expectedRecords = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(H_RECORDS));
            catalog.RepositoryId = new Guid(h.Slice(H_REPOID, 16));
            catalog.CreatedUtc = new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(h.Slice(H_CREATED)), TimeSpan.Zero);
        }
        else
        {
            // Without a trusted header the number of entries is unknown: some may be missing, so record the damage.
            catalog.Quarantine.Add(new QuarantinedRecord("the catalog header fails its checksum (the number of entries is unknown)", file.AsSpan(0, HeaderLength).ToArray()));
        }

        int pos = HeaderLength;
        long index = 0;
        while (pos < file.Length)
        {
            ReadOnlySpan<byte> rest = file.AsSpan(pos);
            if (rest.Length < FrameLength)
            {
                catalog.Quarantine.Add(new QuarantinedRecord($"record {index} at offset {pos} is cut short", rest.ToArray()));
                break;
            }
            ReadOnlySpan<byte> frame = rest.Slice(0, FrameLength);
            if (BinaryPrimitives.ReadUInt32LittleEndian(frame.Slice(F_FRAMECRC)) != Crc32C.Compute(frame.Slice(0, F_FRAMECRC)))
            {
                catalog.Quarantine.Add(new QuarantinedRecord($"record {index} at offset {pos} fails its frame checksum; the rest of the catalog ({rest.Length} bytes) cannot be read", rest.ToArray()));
                break;
            }
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(frame.Slice(F_TYPE));
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(frame.Slice(F_LENGTH));
            if (length > MaxBody || length > rest.Length - FrameLength)
            {
                catalog.Quarantine.Add(new QuarantinedRecord($"record {index} at offset {pos} claims {length} bytes, past the end of the catalog", rest.ToArray()));
                break;
            }
            ReadOnlySpan<byte> body = rest.Slice(FrameLength, (int)length);
            int recordLength = FrameLength + (int)length;
            if (BinaryPrimitives.ReadUInt32LittleEndian(frame.Slice(F_BODYCRC)) != Crc32C.Compute(body))
            {
                catalog.Quarantine.Add(new QuarantinedRecord($"entry {index} at offset {pos} fails its checksum", rest.Slice(0, recordLength).ToArray()));
            }
            else if (type == TypeEntry)
            {
                try
                {
                    catalog.Entries.Add(DecodeEntry(body));
                }
                catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException or FormatException)
                {
                    catalog.Quarantine.Add(new QuarantinedRecord($"entry {index} at offset {pos} is malformed ({ex.Message})", rest.Slice(0, recordLength).ToArray()));
                }
            }
            else if (type == TypeQuarantine)
            {
                catalog.Quarantine.Add(DecodeQuarantine(body));
            }
            else
            {
                catalog.Quarantine.Add(new QuarantinedRecord($"record {index} at offset {pos} has unknown type {type}", rest.Slice(0, recordLength).ToArray()));
            }
            pos += recordLength;
            index++;
        }
        if (expectedRecords >= 0 && index < expectedRecords)
        {
            catalog.Quarantine.Add(new QuarantinedRecord($"the catalog header counts {expectedRecords} records but only {index} are present (the file was cut short)", Array.Empty<byte>()));
        }
        return catalog;
    }

    /// <summary>Returns a deep copy (entries are immutable records).</summary>
    public BackupCatalog Clone()
    {
        var copy = new BackupCatalog { RepositoryId = RepositoryId, CreatedUtc = CreatedUtc, Sequence = Sequence };
        copy.Entries.AddRange(Entries);
        copy.Quarantine.AddRange(Quarantine);
        return copy;
    }

    /// <summary>Writes the catalog atomically and durably (temp file, fsync, rename, folder fsync) with the next sequence number.</summary>
    public void Save(string path)
    {
        using var ms = new MemoryStream();
        ms.Write(new byte[HeaderLength]);
        int records = 0;
        foreach (BackupInfo entry in Entries)
        {
            WriteRecord(ms, TypeEntry, EncodeEntry(entry));
            records++;
        }
        foreach (QuarantinedRecord q in Quarantine)
        {
            WriteRecord(ms, TypeQuarantine, EncodeQuarantine(q));
            records++;
        }
        byte[] file = ms.ToArray();
        ulong sequence = Sequence + 1;
        Span<byte> h = file.AsSpan(0, HeaderLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(H_MAGIC), Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_VERSION), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_HEADERLEN), HeaderLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(H_SEQUENCE), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_RECORDS), (uint)records);
        RepositoryId.TryWriteBytes(h.Slice(H_REPOID, 16));
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(H_CREATED), CreatedUtc.UtcTicks);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(H_HEADERCRC), Crc32C.Compute(h.Slice(0, H_HEADERCRC)));
        DurableFiles.WriteAtomic(path, file);
        Sequence = sequence;
    }

    private static void WriteRecord(Stream output, ushort type, byte[] body)
    {
        if (body.Length > MaxBody)
        {
            throw SnapshotToolsException.Invalid("catalog entry", $"it would take {body.Length} bytes, more than {MaxBody}");
        }
        Span<byte> frame = stackalloc byte[FrameLength];
        frame.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(frame.Slice(F_TYPE), type);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Slice(F_LENGTH), (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Slice(F_BODYCRC), Crc32C.Compute(body));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Slice(F_FRAMECRC), Crc32C.Compute(frame.Slice(0, F_FRAMECRC)));
        output.Write(frame);
        output.Write(body);
    }

    internal static byte[] EncodeEntry(BackupInfo e)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(EntryVersion);
            w.Write(e.BackupId.ToByteArray());
            w.Write(e.VolumeId.ToByteArray());
            w.Write(e.VolumeName);
            w.Write(e.Generation);
            w.Write((byte)e.Kind);
            WriteOptionalGuid(w, e.BaseBackupId);
            WriteOptionalGuid(w, e.FromSnapshotId);
            w.Write(e.FromSnapshotName ?? "");
            w.Write(e.ToSnapshotId.ToByteArray());
            w.Write(e.ToSequence);
            w.Write(e.ToSnapshotName);
            w.Write(e.ToSnapshotCreatedUtc.UtcTicks);
            w.Write(e.ToSnapshotDescription != null);
            w.Write(e.ToSnapshotDescription ?? "");
            w.Write(e.ChunkSize);
            w.Write(e.FromSize);
            w.Write(e.VolumeSize);
            w.Write(e.StreamBytes);
            w.Write(e.DataBytes);
            w.Write(e.ZeroBytes);
            w.Write(e.UnmappedBytes);
            w.Write(e.Records);
            w.Write(Convert.FromHexString(e.ContentSha256));
            w.Write(Convert.FromHexString(e.StreamId));
            w.Write((byte)e.Compression);
            w.Write(e.Encrypted);
            w.Write(e.KeyId ?? "");
            w.Write(e.CreatedUtc.UtcTicks);
            WriteOptionalGuid(w, e.MergedFrom);
            w.Write(e.FileName);
        }
        return ms.ToArray();
    }

    internal static BackupInfo DecodeEntry(ReadOnlySpan<byte> body)
    {
        using var r = new BinaryReader(new MemoryStream(body.ToArray()), Encoding.UTF8);
        int version = r.ReadInt32();
        if (version != EntryVersion)
        {
            throw new InvalidDataException($"entry version {version}");
        }
        Guid backupId = ReadGuid(r);
        Guid volumeId = ReadGuid(r);
        string volumeName = r.ReadString();
        long generation = r.ReadInt64();
        var kind = (BackupKind)r.ReadByte();
        Guid? baseId = ReadOptionalGuid(r);
        Guid? fromId = ReadOptionalGuid(r);
        string fromName = r.ReadString();
        Guid toId = ReadGuid(r);
        long toSeq = r.ReadInt64();
        string toName = r.ReadString();
        var toCreated = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
        bool hasDescription = r.ReadBoolean();
        string description = r.ReadString();
        int chunkSize = r.ReadInt32();
        long fromSize = r.ReadInt64();
        long volumeSize = r.ReadInt64();
        long streamBytes = r.ReadInt64();
        long dataBytes = r.ReadInt64();
        long zeroBytes = r.ReadInt64();
        long unmappedBytes = r.ReadInt64();
        long records = r.ReadInt64();
        string content = Convert.ToHexString(ReadExact(r, 32)).ToLowerInvariant();
        string streamId = Convert.ToHexString(ReadExact(r, 32)).ToLowerInvariant();
        var compression = (StreamCompression)r.ReadByte();
        bool encrypted = r.ReadBoolean();
        string keyId = r.ReadString();
        var created = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
        Guid? mergedFrom = ReadOptionalGuid(r);
        string fileName = r.ReadString();
        if (r.BaseStream.Position != body.Length)
        {
            throw new InvalidDataException("trailing bytes");
        }
        if (kind is not (BackupKind.Full or BackupKind.Incremental) || (kind == BackupKind.Incremental) != baseId.HasValue
            || (kind == BackupKind.Incremental) != fromId.HasValue || compression > StreamCompression.Zstd || volumeSize <= 0)
        {
            throw new InvalidDataException("fields out of range");
        }
        return new BackupInfo
        {
            BackupId = backupId,
            VolumeId = volumeId,
            VolumeName = volumeName,
            Generation = generation,
            Kind = kind,
            BaseBackupId = baseId,
            FromSnapshotId = fromId,
            FromSnapshotName = fromId.HasValue ? fromName : null,
            ToSnapshotId = toId,
            ToSequence = toSeq,
            ToSnapshotName = toName,
            ToSnapshotCreatedUtc = toCreated,
            ToSnapshotDescription = hasDescription ? description : null,
            ChunkSize = chunkSize,
            FromSize = fromSize,
            VolumeSize = volumeSize,
            StreamBytes = streamBytes,
            DataBytes = dataBytes,
            ZeroBytes = zeroBytes,
            UnmappedBytes = unmappedBytes,
            Records = records,
            ContentSha256 = content,
            StreamId = streamId,
            Compression = compression,
            Encrypted = encrypted,
            KeyId = keyId.Length == 0 ? null : keyId,
            CreatedUtc = created,
            MergedFrom = mergedFrom,
            FileName = fileName,
        };
    }

    private static byte[] EncodeQuarantine(QuarantinedRecord q)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(q.Problem);
            w.Write(q.Raw.Length);
            w.Write(q.Raw);
        }
        return ms.ToArray();
    }

    private static QuarantinedRecord DecodeQuarantine(ReadOnlySpan<byte> body)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(body.ToArray()), Encoding.UTF8);
            string problem = r.ReadString();
            int length = r.ReadInt32();
            return new QuarantinedRecord(problem, ReadExact(r, length));
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentException or IOException)
        {
            return new QuarantinedRecord("a quarantined record is malformed", body.ToArray());
        }
    }

    private static void WriteOptionalGuid(BinaryWriter w, Guid? value)
    {
        w.Write(value.HasValue);
        w.Write((value ?? Guid.Empty).ToByteArray());
    }

    private static Guid? ReadOptionalGuid(BinaryReader r)
    {
        bool has = r.ReadBoolean();
        Guid g = ReadGuid(r);
        return has ? g : null;
    }

    private static Guid ReadGuid(BinaryReader r) => new(ReadExact(r, 16));

    private static byte[] ReadExact(BinaryReader r, int length)
    {
        if (length < 0)
        {
            throw new InvalidDataException("negative length");
        }
        byte[] b = r.ReadBytes(length);
        if (b.Length != length)
        {
            throw new EndOfStreamException();
        }
        return b;
    }
}

/// <summary>A damaged part of the catalog, kept verbatim so the damage stays visible until the catalog is repaired.</summary>
/// <param name="Problem">What is wrong with it.</param>
/// <param name="Raw">The bytes as found.</param>
internal sealed record QuarantinedRecord(string Problem, byte[] Raw);
