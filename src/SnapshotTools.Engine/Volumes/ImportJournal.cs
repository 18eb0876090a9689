using System.Buffers.Binary;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Engine.Volumes;

/// <summary>The state of a staged import (<c>import.meta.0/1</c>).</summary>
internal sealed class ImportState
{
    public byte[] StreamId = new byte[32];
    public Guid VolumeId;
    public long Generation;
    public bool IsFull;
    public Guid FromSnapshotId;
    public Guid ToSnapshotId;
    public string ToName = "";
    public DateTimeOffset ToCreatedUtc;
    public string? ToDescription;
    public long ToSize;
    public long StagedRecords;
    public uint RunningCrc;
    public long JournalLength;
    public bool Committed;

    public byte[] Serialize()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(StreamId);
            w.Write(VolumeId.ToByteArray());
            w.Write(Generation);
            w.Write(IsFull);
            w.Write(FromSnapshotId.ToByteArray());
            w.Write(ToSnapshotId.ToByteArray());
            w.Write(ToName);
            w.Write(ToCreatedUtc.UtcTicks);
            w.Write(ToDescription != null);
            w.Write(ToDescription ?? "");
            w.Write(ToSize);
            w.Write(StagedRecords);
            w.Write(RunningCrc);
            w.Write(JournalLength);
            w.Write(Committed);
        }
        return ms.ToArray();
    }

    public static ImportState Deserialize(byte[] body, string where)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(body));
            var s = new ImportState
            {
                StreamId = r.ReadBytes(32),
                VolumeId = new Guid(r.ReadBytes(16)),
                Generation = r.ReadInt64(),
                IsFull = r.ReadBoolean(),
                FromSnapshotId = new Guid(r.ReadBytes(16)),
                ToSnapshotId = new Guid(r.ReadBytes(16)),
                ToName = r.ReadString(),
                ToCreatedUtc = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero),
            };
            bool hasDescription = r.ReadBoolean();
            string description = r.ReadString();
            s.ToDescription = hasDescription ? description : null;
            s.ToSize = r.ReadInt64();
            s.StagedRecords = r.ReadInt64();
            s.RunningCrc = r.ReadUInt32();
            s.JournalLength = r.ReadInt64();
            s.Committed = r.ReadBoolean();
            return s;
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentException)
        {
            throw SnapshotToolsException.Corrupt(where, "the import state is structurally invalid");
        }
    }
}

/// <summary>
/// The staging journal of an import: the verified operations of a delta stream, kept beside the volume until the
/// stream's END record has been verified, then replayed into the volume in one go. Until the commit the volume is
/// untouched; after it, the replay is idempotent and resumes at the next open after a crash.
/// </summary>
/// <remarks>
/// <c>import.journal</c> holds operations, each a 32-byte header and, for data, its bytes:
/// <code>
/// 00 kind u8 (1 data, 2 zero, 3 unmap, 4 resize) | 01-07 reserved | 08-15 offset (or size) u64 | 16-23 length u64
/// 24-27 data CRC-32C u32 | 28-31 CRC-32C of 00-27
/// </code>
/// </remarks>
internal sealed class ImportJournal : IDisposable
{
    public const string MetaName = "import.meta";
    public const string JournalName = "import.journal";
    public const ulong Magic = 0x315452504D495453; // "STIMPRT1"
    public const int OpHeaderLength = 32;
    public const byte OpData = 1;
    public const byte OpZero = 2;
    public const byte OpUnmap = 3;
    public const byte OpResize = 4;

    private readonly IStorage _storage;
    private readonly MetadataFile _meta;
    private IStorageFile? _journal;

    public ImportJournal(IStorage storage)
    {
        _storage = storage;
        _meta = new MetadataFile(storage, MetaName, Magic, 1);
    }

    public ImportState? State { get; private set; }

    public static bool Exists(IStorage storage) => new MetadataFile(storage, MetaName, Magic, 1).AnyExists();

    /// <summary>Loads the pending state, or null when there is none (or it is unreadable, and so discarded).</summary>
    public ImportState? Load()
    {
        if (!_meta.AnyExists())
        {
            return null;
        }
        try
        {
            State = ImportState.Deserialize(_meta.Read(), $"'{MetaName}' in {_storage.Location}");
        }
        catch (SnapshotToolsException ex) when (ex.Code == SnapshotErrorCode.CorruptMetadata)
        {
            // An unreadable, uncommitted staging area protects nothing: the volume was never touched by it.
            Delete();
            return null;
        }
        return State;
    }

    /// <summary>Starts a new staging area (discarding any other).</summary>
    public void Begin(ImportState state)
    {
        Delete();
        State = state;
        _journal = _storage.Open(JournalName, create: true);
        _journal.SetLength(0);
        _journal.Flush();
        _meta.Write(state.Serialize());
    }

    /// <summary>Continues the loaded staging area from its last checkpoint.</summary>
    public void Resume()
    {
        ImportState state = State ?? throw new InvalidOperationException("No import state.");
        _journal = _storage.Open(JournalName, create: true);
        if (_journal.Length < state.JournalLength)
        {
            throw SnapshotToolsException.Corrupt($"'{JournalName}' in {_storage.Location}", "the import journal is shorter than its checkpoint");
        }
        _journal.SetLength(state.JournalLength);
    }

    public void Append(byte kind, long offset, long length, ReadOnlySpan<byte> data)
    {
        ImportState state = State!;
        Span<byte> h = stackalloc byte[OpHeaderLength];
        h.Clear();
        h[0] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(8), offset);
        BinaryPrimitives.WriteInt64LittleEndian(h.Slice(16), length);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(24), kind == OpData ? Crc32C.Compute(data) : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(28), Crc32C.Compute(h.Slice(0, 28)));
        _journal!.Write(state.JournalLength, h);
        if (kind == OpData)
        {
            _journal.Write(state.JournalLength + OpHeaderLength, data);
        }
        state.JournalLength += OpHeaderLength + (kind == OpData ? data.Length : 0);
    }

    /// <summary>Makes everything staged durable and records how far the stream was processed.</summary>
    public void Checkpoint(long stagedRecords, uint runningCrc, bool committed = false)
    {
        ImportState state = State!;
        _journal?.Flush();
        state.StagedRecords = stagedRecords;
        state.RunningCrc = runningCrc;
        state.Committed = committed;
        _meta.Write(state.Serialize());
    }

    /// <summary>Reads the staged operations in order, verifying each.</summary>
    public IEnumerable<(byte Kind, long Offset, long Length, byte[]? Data)> Operations()
    {
        ImportState state = State!;
        _journal ??= _storage.Open(JournalName, create: true);
        byte[] h = new byte[OpHeaderLength];
        long pos = 0;
        while (pos < state.JournalLength)
        {
            _journal.Read(pos, h);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(28)) != Crc32C.Compute(h.AsSpan(0, 28)))
            {
                throw SnapshotToolsException.Corrupt($"'{JournalName}'", $"the operation at {pos} fails its checksum");
            }
            byte kind = h[0];
            long offset = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(8));
            long length = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(16));
            byte[]? data = null;
            pos += OpHeaderLength;
            if (kind == OpData)
            {
                if (length < 0 || length > 64L * 1024 * 1024)
                {
                    throw SnapshotToolsException.Corrupt($"'{JournalName}'", $"the operation at {pos} has length {length}");
                }
                data = new byte[length];
                _journal.Read(pos, data);
                if (Crc32C.Compute(data) != BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(24)))
                {
                    throw SnapshotToolsException.Corrupt($"'{JournalName}'", $"the data at {pos} fails its checksum");
                }
                pos += length;
            }
            yield return (kind, offset, length, data);
        }
    }

    /// <summary>Removes the staging area.</summary>
    public void Delete()
    {
        _journal?.Dispose();
        _journal = null;
        // The state first: without it the journal is an orphan that the next import replaces.
        _storage.Delete(MetaName + ".0");
        _storage.Delete(MetaName + ".1");
        _storage.Delete(JournalName);
        State = null;
    }

    public void Dispose()
    {
        _journal?.Dispose();
        _journal = null;
    }
}
