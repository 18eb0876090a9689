using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Engine.Volumes;

/// <summary>One snapshot as recorded in the volume metadata.</summary>
internal sealed class SnapshotRecord
{
    public Guid Id;
    public long Sequence;
    public string Name = "";
    public DateTimeOffset CreatedUtc;
    public long Size;
    public string? Description;
    public long DurableRecords;
    public List<ByteRange> ProtectedRanges = new();
}

/// <summary>
/// The volume metadata (<c>volume.meta.0/1</c>, a <see cref="MetadataFile"/>): identity, snapshot list, protection
/// map, in-use maps and recovery state. Written on every Flush and every structural change; the body layout is in
/// docs/store-format.md.
/// </summary>
internal sealed class VolumeMetadata
{
    public const string FileName = "volume.meta";
    public const ulong Magic = 0x31444D4C4F565453; // "STVOLMD1"
    public const int Version = 1;

    public Guid VolumeId;
    public long Generation;
    public long Size;
    public int ChunkSize;
    public string Name = "";
    public DateTimeOffset CreatedUtc;
    public ProtectionMode ProtectionMode;
    public long NextSequence = 1;
    public bool CleanShutdown;
    public long RollbackTarget;
    public List<ByteRange> ProtectedRanges = new();
    public List<SnapshotRecord> Snapshots = new();
    public ulong[] DataMap = Array.Empty<ulong>();
    public ulong[] ZeroMap = Array.Empty<ulong>();

    public static MetadataFile File(IStorage storage) => new(storage, FileName, Magic, Version);

    public byte[] Serialize()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(VolumeId.ToByteArray());
            w.Write(Generation);
            w.Write(Size);
            w.Write(ChunkSize);
            w.Write(Name);
            w.Write(CreatedUtc.UtcTicks);
            w.Write((byte)ProtectionMode);
            w.Write(NextSequence);
            w.Write(CleanShutdown);
            w.Write(RollbackTarget);
            WriteRanges(w, ProtectedRanges);
            w.Write(Snapshots.Count);
            foreach (SnapshotRecord s in Snapshots)
            {
                w.Write(s.Id.ToByteArray());
                w.Write(s.Sequence);
                w.Write(s.Name);
                w.Write(s.CreatedUtc.UtcTicks);
                w.Write(s.Size);
                w.Write(s.Description != null);
                w.Write(s.Description ?? "");
                w.Write(s.DurableRecords);
                WriteRanges(w, s.ProtectedRanges);
            }
            w.Write((long)DataMap.Length);
            foreach (ulong x in DataMap)
            {
                w.Write(x);
            }
            foreach (ulong x in ZeroMap)
            {
                w.Write(x);
            }
        }
        return ms.ToArray();
    }

    /// <exception cref="SnapshotToolsException">The body is structurally invalid.</exception>
    public static VolumeMetadata Deserialize(byte[] body, string where)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(body));
            var m = new VolumeMetadata
            {
                VolumeId = new Guid(r.ReadBytes(16)),
                Generation = r.ReadInt64(),
                Size = r.ReadInt64(),
                ChunkSize = r.ReadInt32(),
                Name = r.ReadString(),
                CreatedUtc = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero),
                ProtectionMode = (ProtectionMode)r.ReadByte(),
                NextSequence = r.ReadInt64(),
                CleanShutdown = r.ReadBoolean(),
                RollbackTarget = r.ReadInt64(),
                ProtectedRanges = ReadRanges(r),
            };
            int count = r.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                var s = new SnapshotRecord
                {
                    Id = new Guid(r.ReadBytes(16)),
                    Sequence = r.ReadInt64(),
                    Name = r.ReadString(),
                    CreatedUtc = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero),
                    Size = r.ReadInt64(),
                };
                bool hasDescription = r.ReadBoolean();
                string description = r.ReadString();
                s.Description = hasDescription ? description : null;
                s.DurableRecords = r.ReadInt64();
                s.ProtectedRanges = ReadRanges(r);
                m.Snapshots.Add(s);
            }
            long words = r.ReadInt64();
            long expected = Maps.ChunkBitmap.WordsFor((m.Size + m.ChunkSize - 1) / Math.Max(1, m.ChunkSize));
            if (words != expected || m.ChunkSize <= 0 || m.Size <= 0)
            {
                throw new InvalidDataException("in-use map length does not match the volume size");
            }
            m.DataMap = new ulong[words];
            m.ZeroMap = new ulong[words];
            for (long i = 0; i < words; i++)
            {
                m.DataMap[i] = r.ReadUInt64();
            }
            for (long i = 0; i < words; i++)
            {
                m.ZeroMap[i] = r.ReadUInt64();
            }
            if (r.BaseStream.Position != body.Length)
            {
                throw new InvalidDataException("trailing bytes");
            }
            return m;
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException or IOException and not SnapshotToolsException)
        {
            throw SnapshotToolsException.Corrupt(where, "the volume metadata is structurally invalid (" + ex.Message + ")");
        }
    }

    private static void WriteRanges(BinaryWriter w, List<ByteRange> ranges)
    {
        w.Write(ranges.Count);
        foreach (ByteRange r in ranges)
        {
            w.Write(r.Offset);
            w.Write(r.Length);
        }
    }

    private static List<ByteRange> ReadRanges(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 1_000_000)
        {
            throw new InvalidDataException("bad range count");
        }
        var list = new List<ByteRange>(n);
        for (int i = 0; i < n; i++)
        {
            list.Add(new ByteRange(r.ReadInt64(), r.ReadInt64()));
        }
        return list;
    }
}
