using System.Text;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Engine.Tests;

/// <summary>The kinds of operation the randomized tests apply to a volume and to its model.</summary>
internal enum ModelOpKind
{
    Write,
    Discard,
    WriteZeroes,
    Flush,
    CreateSnapshot,
    DeleteSnapshot,
    RenameSnapshot,
    Rollback,
    Resize,
    SetProtectedRanges,
    Reopen,
}

/// <summary>One operation of a random sequence, as plain data so that a sequence can be replayed exactly.</summary>
internal sealed record ModelOp(
    ModelOpKind Kind,
    long Offset = 0,
    long Length = 0,
    byte[]? Data = null,
    string? Name = null,
    string? NewName = null,
    ByteRange[]? Ranges = null)
{
    /// <summary>Gets whether a completed operation of this kind makes every earlier write durable.</summary>
    /// <remarks>
    /// docs/store-format.md: "Flush (and every structural operation) then: fsync live.dat, fsync every index, write
    /// the metadata". A resize to the current size is a no-op and is not counted.
    /// </remarks>
    public bool IsDurabilityPoint(long sizeBefore) => Kind switch
    {
        ModelOpKind.Write or ModelOpKind.Discard or ModelOpKind.WriteZeroes => false,
        ModelOpKind.Resize => Offset != sizeBefore,
        _ => true,
    };

    /// <summary>Gets whether the operation changes the live bytes.</summary>
    public bool ChangesLiveData => Kind is ModelOpKind.Write or ModelOpKind.Discard or ModelOpKind.WriteZeroes
        or ModelOpKind.Rollback or ModelOpKind.Resize;

    public override string ToString() => Kind switch
    {
        ModelOpKind.Write => $"Write({Offset}, {Length}) crc={Checksum(Data!)}",
        ModelOpKind.Discard => $"Discard({Offset}, {Length})",
        ModelOpKind.WriteZeroes => $"WriteZeroes({Offset}, {Length})",
        ModelOpKind.Flush => "Flush()",
        ModelOpKind.CreateSnapshot => $"CreateSnapshot(\"{Name}\")",
        ModelOpKind.DeleteSnapshot => $"DeleteSnapshot(\"{Name}\")",
        ModelOpKind.RenameSnapshot => $"RenameSnapshot(\"{Name}\", \"{NewName}\")",
        ModelOpKind.Rollback => $"Rollback(\"{Name}\")",
        ModelOpKind.Resize => $"Resize({Offset})",
        ModelOpKind.SetProtectedRanges => "SetProtectedRanges(" + string.Join(", ", Ranges!.Select(r => $"[{r.Offset}+{r.Length}]")) + ")",
        ModelOpKind.Reopen => "Dispose(); Open()",
        _ => Kind.ToString(),
    };

    private static string Checksum(byte[] data) => Crc32C(data).ToString("x8");

    private static uint Crc32C(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = System.Numerics.BitOperations.Crc32C(crc, b);
        }
        return ~crc;
    }
}

/// <summary>A snapshot in the reference model: name, full bytes (its size is their length) and protection map.</summary>
internal sealed class SnapshotModel
{
    public SnapshotModel(string name, byte[] data, ByteRange[] protectedRanges, Guid id = default)
    {
        Name = name;
        Data = data;
        Protected = protectedRanges;
        Id = id;
    }

    public string Name { get; set; }

    /// <summary>Gets the snapshot's bytes as it must read (protected ranges already zero). Never modified.</summary>
    public byte[] Data { get; }

    public long Size => Data.Length;

    public ByteRange[] Protected { get; }

    /// <summary>Gets or sets the engine's id of the snapshot, once the engine returned it.</summary>
    public Guid Id { get; set; }

    public SnapshotModel Clone() => new(Name, Data, Protected, Id);
}

/// <summary>
/// The reference model of a volume: the live bytes, the snapshots (oldest first) each with a full copy, and the live
/// protection map. Everything the engine does is checked against it.
/// </summary>
internal sealed class VolumeModel
{
    /// <summary>
    /// The write-back window a test volume uses, varied by seed: none (the store is synced on every request), a
    /// window of two chunks (drained from writer threads all the time), or the default.
    /// </summary>
    internal static long WriteBackFor(int seed, int chunkSize) => (Math.Abs(seed) % 3) switch
    {
        0 => 0,
        1 => 2L * chunkSize,
        _ => Volume.DefaultWriteBackBytes,
    };

    public VolumeModel(long size)
    {
        Live = new byte[size];
    }

    private VolumeModel(byte[] live, List<SnapshotModel> snapshots, ByteRange[] protectedRanges)
    {
        Live = live;
        Snapshots = snapshots;
        Protected = protectedRanges;
    }

    public byte[] Live { get; set; }

    public long Size => Live.Length;

    public List<SnapshotModel> Snapshots { get; } = new();

    public ByteRange[] Protected { get; set; } = Array.Empty<ByteRange>();

    public VolumeModel Clone() =>
        new((byte[])Live.Clone(), Snapshots.Select(s => s.Clone()).ToList(), (ByteRange[])Protected.Clone());

    public SnapshotModel Find(string name) =>
        Snapshots.Single(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Applies <paramref name="op"/> the way the engine's contract says it behaves.</summary>
    public void Apply(ModelOp op)
    {
        switch (op.Kind)
        {
            case ModelOpKind.Write:
                op.Data!.CopyTo(Live, op.Offset);
                break;
            case ModelOpKind.Discard:
            case ModelOpKind.WriteZeroes:
                Array.Clear(Live, (int)op.Offset, (int)op.Length);
                break;
            case ModelOpKind.CreateSnapshot:
                Snapshots.Add(new SnapshotModel(op.Name!, Masked(Live, Protected), (ByteRange[])Protected.Clone()));
                break;
            case ModelOpKind.DeleteSnapshot:
                Snapshots.Remove(Find(op.Name!));
                break;
            case ModelOpKind.RenameSnapshot:
                Find(op.Name!).Name = op.NewName!;
                break;
            case ModelOpKind.Rollback:
                Live = RolledBack(Live, Find(op.Name!));
                break;
            case ModelOpKind.Resize:
                Live = Resized(Live, op.Offset);
                break;
            case ModelOpKind.SetProtectedRanges:
                Protected = Normalize(op.Ranges!);
                break;
            case ModelOpKind.Flush:
            case ModelOpKind.Reopen:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>The live bytes after a rollback: the snapshot's size and, outside its protection map, its bytes;
    /// inside its protection map the live bytes stay as they are (Volume.Rollback.cs).</summary>
    public static byte[] RolledBack(byte[] live, SnapshotModel target)
    {
        byte[] result = Resized(live, target.Size);
        long pos = 0;
        foreach (ByteRange r in target.Protected)
        {
            long a = Math.Min(r.Offset, target.Size);
            if (a > pos)
            {
                Array.Copy(target.Data, pos, result, pos, a - pos);
            }
            pos = Math.Max(pos, Math.Min(r.End, target.Size));
        }
        if (pos < target.Size)
        {
            Array.Copy(target.Data, pos, result, pos, target.Size - pos);
        }
        return result;
    }

    public static byte[] Resized(byte[] data, long size)
    {
        byte[] result = new byte[size];
        Array.Copy(data, result, Math.Min(data.Length, size));
        return result;
    }

    public static byte[] Masked(byte[] data, IReadOnlyList<ByteRange> ranges)
    {
        byte[] result = (byte[])data.Clone();
        foreach (ByteRange r in ranges)
        {
            long a = Math.Min(r.Offset, result.Length);
            long b = Math.Min(r.End, result.Length);
            Array.Clear(result, (int)a, (int)(b - a));
        }
        return result;
    }

    /// <summary>Sorts and merges ranges (empty ones dropped), like the engine's protection map.</summary>
    public static ByteRange[] Normalize(IEnumerable<ByteRange> ranges)
    {
        var list = ranges.Where(r => r.Length > 0).OrderBy(r => r.Offset).ToList();
        var merged = new List<ByteRange>();
        foreach (ByteRange r in list)
        {
            if (merged.Count > 0 && r.Offset <= merged[^1].End)
            {
                ByteRange last = merged[^1];
                merged[^1] = new ByteRange(last.Offset, Math.Max(last.End, r.End) - last.Offset);
            }
            else
            {
                merged.Add(r);
            }
        }
        return merged.ToArray();
    }

    /// <summary>Returns a per-byte mask of <paramref name="ranges"/> over <paramref name="size"/> bytes.</summary>
    public static bool[] MaskOf(IReadOnlyList<ByteRange> ranges, long size)
    {
        var mask = new bool[size];
        foreach (ByteRange r in ranges)
        {
            for (long i = Math.Min(r.Offset, size); i < Math.Min(r.End, size); i++)
            {
                mask[i] = true;
            }
        }
        return mask;
    }
}

/// <summary>What kind of random sequences a generator makes.</summary>
internal sealed record GeneratorOptions
{
    public int ChunkSize { get; init; } = 4096;

    /// <summary>Gets the largest volume size, in chunks (a resize never goes beyond it).</summary>
    public int MaxChunks { get; init; } = 64;

    /// <summary>Gets whether every offset, length and size is a multiple of 512 (whole sectors).</summary>
    public bool SectorAligned { get; init; }

    /// <summary>Gets whether the sequences change the protection map.</summary>
    public bool Protection { get; init; }

    public int MaxSnapshots { get; init; } = 5;

    /// <summary>Gets whether the sequences close and reopen the volume.</summary>
    public bool Reopen { get; init; } = true;

    /// <summary>Gets the prefix of the snapshot names the generator makes up.</summary>
    public string NamePrefix { get; init; } = "";
}

/// <summary>Makes random operations that are valid for the current model state.</summary>
internal sealed class OpGenerator
{
    private readonly Random _rng;
    private readonly GeneratorOptions _o;
    private int _names;

    public OpGenerator(Random rng, GeneratorOptions options)
    {
        _rng = rng;
        _o = options;
    }

    private int Unit => _o.SectorAligned ? 512 : 1;

    private int C => _o.ChunkSize;

    /// <summary>A random initial or resized volume size: 1 to MaxChunks chunks, often not a multiple of the chunk.</summary>
    public long NextSize()
    {
        long chunks = _rng.Next(1, _o.MaxChunks + 1);
        long size = chunks * C;
        if (_rng.Next(2) == 0)
        {
            // A partial last chunk.
            long part = _rng.Next(1, C / Unit) * Unit;
            size = (chunks - 1) * C + part;
        }
        return Math.Max(Unit, size);
    }

    public ModelOp Next(VolumeModel m)
    {
        while (true)
        {
            int r = _rng.Next(100);
            int snaps = m.Snapshots.Count;
            switch (r)
            {
                case < 34:
                    return NextWrite(m.Size);
                case < 42:
                {
                    (long off, long len) = NextRange(m.Size);
                    return new ModelOp(ModelOpKind.Discard, off, len);
                }
                case < 50:
                {
                    (long off, long len) = NextRange(m.Size);
                    return new ModelOp(ModelOpKind.WriteZeroes, off, len);
                }
                case < 55:
                    return new ModelOp(ModelOpKind.Flush);
                case < 68:
                    if (snaps >= _o.MaxSnapshots)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.CreateSnapshot, Name: $"{_o.NamePrefix}snap-{++_names}");
                case < 75:
                {
                    if (snaps == 0)
                    {
                        continue;
                    }
                    // Oldest, newest or one in the middle.
                    int which = _rng.Next(3) switch
                    {
                        0 => 0,
                        1 => snaps - 1,
                        _ => _rng.Next(snaps),
                    };
                    return new ModelOp(ModelOpKind.DeleteSnapshot, Name: m.Snapshots[which].Name);
                }
                case < 78:
                    if (snaps == 0)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.RenameSnapshot, Name: m.Snapshots[_rng.Next(snaps)].Name, NewName: $"{_o.NamePrefix}renamed-{++_names}");
                case < 84:
                    if (snaps == 0)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.Rollback, Name: m.Snapshots[_rng.Next(snaps)].Name);
                case < 91:
                {
                    long size = NextSize();
                    if (size == m.Size)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.Resize, Offset: size);
                }
                case < 96:
                    if (!_o.Protection)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.SetProtectedRanges, Ranges: NextRanges(m.Size));
                default:
                    if (!_o.Reopen)
                    {
                        continue;
                    }
                    return new ModelOp(ModelOpKind.Reopen);
            }
        }
    }

    public ModelOp NextWrite(long size)
    {
        (long off, long len) = NextRange(size);
        byte[] data = new byte[len];
        switch (_rng.Next(8))
        {
            case 0:
                // Zeros written as data: a delta must still reproduce them.
                break;
            case 1:
                Array.Fill(data, (byte)_rng.Next(1, 256));
                break;
            default:
                _rng.NextBytes(data);
                break;
        }
        return new ModelOp(ModelOpKind.Write, off, len, data);
    }

    /// <summary>A random non-empty range inside [0, size): tiny, chunk-aligned, straddling chunk boundaries, long, or to the end.</summary>
    public (long Offset, long Length) NextRange(long size)
    {
        long off;
        long len;
        switch (_rng.Next(10))
        {
            case 0:
            case 1:
                off = Rand(size);
                len = 1 + Rand(700);
                break;
            case 2:
            case 3:
                off = Rand((size + C - 1) / C) * C;
                len = (1 + Rand(3)) * C;
                break;
            case 4:
            case 5:
            {
                // Around a chunk boundary, often spanning it.
                long boundary = (1 + Rand(Math.Max(1, size / C))) * C;
                off = boundary - 1 - Rand(Math.Min(boundary, 2 * C));
                len = 1 + Rand(3 * C);
                break;
            }
            case 6:
            case 7:
                off = Rand(size);
                len = 1 + Rand(5 * C);
                break;
            case 8:
                off = Math.Max(0, size - 1 - Rand(2 * C));
                len = size;
                break;
            default:
                off = _rng.Next(2) == 0 ? 0 : Rand(size);
                len = size;
                break;
        }
        off = Math.Clamp(off, 0, size - 1);
        if (_o.SectorAligned)
        {
            off = off / 512 * 512;
            len = (len + 511) / 512 * 512;
        }
        len = Math.Clamp(len, 1, size - off);
        return (off, len);
    }

    /// <summary>Zero to three protected ranges: chunk-aligned, arbitrary, or past the end; sometimes none.</summary>
    public ByteRange[] NextRanges(long size)
    {
        int n = _rng.Next(4);
        var ranges = new ByteRange[n];
        long limit = (long)_o.MaxChunks * C;
        for (int i = 0; i < n; i++)
        {
            if (_rng.Next(2) == 0)
            {
                long first = Rand(Math.Max(1, limit / C));
                ranges[i] = new ByteRange(first * C, (1 + Rand(4)) * C);
            }
            else
            {
                (long off, long len) = NextRange(Math.Max(size, Unit));
                ranges[i] = new ByteRange(off, len);
            }
        }
        return ranges;
    }

    private long Rand(long bound) => bound <= 1 ? 0 : _rng.NextInt64(bound);
}

/// <summary>Applies model operations to a real volume.</summary>
internal static class EngineOps
{
    /// <summary>Applies <paramref name="op"/> to <paramref name="volume"/> (a reopen replaces it).</summary>
    /// <returns>The snapshot a create returned, else null.</returns>
    public static SnapshotInfo? Apply(ref Volume volume, IStorage storage, ModelOp op)
    {
        switch (op.Kind)
        {
            case ModelOpKind.Write:
                volume.Write(op.Offset, op.Data);
                return null;
            case ModelOpKind.Discard:
                volume.Discard(op.Offset, op.Length);
                return null;
            case ModelOpKind.WriteZeroes:
                volume.WriteZeroes(op.Offset, op.Length);
                return null;
            case ModelOpKind.Flush:
                volume.Flush();
                return null;
            case ModelOpKind.CreateSnapshot:
                return volume.CreateSnapshot(op.Name!, "random " + op.Name);
            case ModelOpKind.DeleteSnapshot:
                volume.DeleteSnapshot(op.Name!);
                return null;
            case ModelOpKind.RenameSnapshot:
                volume.RenameSnapshot(op.Name!, op.NewName!);
                return null;
            case ModelOpKind.Rollback:
                volume.Rollback(op.Name!);
                return null;
            case ModelOpKind.Resize:
                volume.Resize(op.Offset);
                return null;
            case ModelOpKind.SetProtectedRanges:
                volume.SetProtectedRanges(op.Ranges!);
                return null;
            case ModelOpKind.Reopen:
                volume.Dispose();
                volume = Volume.Open(storage);
                return null;
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }
}

/// <summary>A check of the engine against the model failed.</summary>
internal sealed class ModelMismatchException : Exception
{
    public ModelMismatchException(string message)
        : base(message)
    {
    }
}

/// <summary>Checks a volume against a model: live bytes, every snapshot's bytes, and every pairwise delta.</summary>
internal static class ModelCheck
{
    public static byte[] ReadLive(Volume v)
    {
        byte[] buffer = new byte[v.Size];
        v.Read(0, buffer);
        return buffer;
    }

    public static byte[] ReadSnapshot(Volume v, SnapshotInfo s)
    {
        byte[] buffer = new byte[s.Size];
        v.ReadSnapshot(s.Name, 0, buffer);
        return buffer;
    }

    /// <summary>Live bytes, every snapshot's bytes and (when <paramref name="deltas"/>) every delta.</summary>
    public static void All(Volume v, VolumeModel m, bool deltas)
    {
        Live(v, m);
        Snapshots(v, m);
        if (deltas)
        {
            Deltas(v, m);
        }
    }

    public static void Live(Volume v, VolumeModel m)
    {
        if (v.Size != m.Size)
        {
            throw new ModelMismatchException($"live size is {v.Size}, model {m.Size}");
        }
        Equal("live volume", m.Live, ReadLive(v), 0, v.ChunkSize);
        // A read at an unaligned offset must agree as well (the bulk read above may take other paths).
        if (m.Size > 3)
        {
            long off = m.Size / 3 + 1;
            byte[] part = new byte[Math.Min(m.Size - off, 5000)];
            v.Read(off, part);
            Equal($"live volume read at {off}", m.Live.AsSpan((int)off, part.Length).ToArray(), part, off, v.ChunkSize);
        }
    }

    public static void Snapshots(Volume v, VolumeModel m)
    {
        IReadOnlyList<SnapshotInfo> infos = v.Snapshots;
        string actualNames = string.Join(", ", infos.Select(s => $"{s.Name}({s.Size})"));
        string modelNames = string.Join(", ", m.Snapshots.Select(s => $"{s.Name}({s.Size})"));
        if (actualNames != modelNames)
        {
            throw new ModelMismatchException($"snapshots are [{actualNames}], model [{modelNames}]");
        }
        for (int i = 0; i < infos.Count; i++)
        {
            Equal($"snapshot '{infos[i].Name}'", m.Snapshots[i].Data, ReadSnapshot(v, infos[i]), 0, v.ChunkSize);
        }
    }

    /// <summary>Every pair (older, newer) of snapshots and every (snapshot, live).</summary>
    public static void Deltas(Volume v, VolumeModel m)
    {
        for (int i = 0; i < m.Snapshots.Count; i++)
        {
            for (int j = i + 1; j < m.Snapshots.Count; j++)
            {
                Delta(v, m.Snapshots[i].Name, m.Snapshots[i].Data, m.Snapshots[j].Name, m.Snapshots[j].Data, m.Snapshots[j].Protected);
            }
            Delta(v, m.Snapshots[i].Name, m.Snapshots[i].Data, null, m.Live, m.Protected);
        }
    }

    /// <summary>
    /// Checks one delta: ordered, disjoint extents inside the newer side, none inside the newer side's protection map;
    /// applying it onto the older image (resized to ToSize; data copied from ReadData, zero/unmapped as zeros) gives
    /// the newer image; and every byte that differs between the two images lies in an extent (never under-reports).
    /// Bytes in the newer side's protection map are excluded from deltas by contract and are not compared.
    /// </summary>
    public static void Delta(Volume v, string from, byte[] older, string? to, byte[] newer, IReadOnlyList<ByteRange> newerExcluded)
    {
        string what = $"delta {from} -> {to ?? "live"}";
        VolumeDelta d = v.GetDelta(from, to);
        if (d.FromSize != older.Length || d.ToSize != newer.Length)
        {
            throw new ModelMismatchException($"{what}: FromSize/ToSize {d.FromSize}/{d.ToSize}, model {older.Length}/{newer.Length}");
        }
        bool[] excluded = VolumeModel.MaskOf(newerExcluded, newer.Length);
        byte[] image = VolumeModel.Resized(older, newer.Length);
        byte[] baseImage = (byte[])image.Clone();
        var covered = new bool[newer.Length];
        long previousEnd = 0;
        var extents = new StringBuilder();
        foreach (DeltaExtent e in d)
        {
            extents.Append($" {e.Kind}[{e.Offset}+{e.Length}]");
            if (e.Length <= 0 || e.Offset < previousEnd || e.End > newer.Length)
            {
                throw new ModelMismatchException($"{what}: extent {e} is empty, out of order, overlapping or past ToSize {newer.Length};{extents}");
            }
            previousEnd = e.End;
            for (long i = e.Offset; i < e.End; i++)
            {
                if (excluded[i])
                {
                    throw new ModelMismatchException($"{what}: extent {e} reports protected byte {i};{extents}");
                }
                covered[i] = true;
            }
            Span<byte> target = image.AsSpan((int)e.Offset, (int)e.Length);
            if (e.Kind == ExtentKind.Data)
            {
                d.ReadData(e.Offset, target);
            }
            else
            {
                target.Clear();
            }
        }
        for (long i = 0; i < newer.Length; i++)
        {
            if (excluded[i])
            {
                continue;
            }
            if (baseImage[i] != newer[i] && !covered[i])
            {
                throw new ModelMismatchException($"{what} under-reports: byte {i} (chunk {i / v.ChunkSize}) differs (0x{baseImage[i]:x2} -> 0x{newer[i]:x2}) but lies in no extent;{extents}");
            }
            if (image[i] != newer[i])
            {
                throw new ModelMismatchException($"{what}: applying it gives 0x{image[i]:x2} at byte {i} (chunk {i / v.ChunkSize}), the newer side holds 0x{newer[i]:x2};{extents}");
            }
        }
    }

    public static void Equal(string what, byte[] expected, byte[] actual, long baseOffset = 0, int chunkSize = 4096)
    {
        if (expected.Length != actual.Length)
        {
            throw new ModelMismatchException($"{what}: length {actual.Length}, model {expected.Length}");
        }
        int i = expected.AsSpan().CommonPrefixLength(actual);
        if (i < expected.Length)
        {
            int j = expected.Length - 1;
            while (expected[j] == actual[j])
            {
                j--;
            }
            throw new ModelMismatchException($"{what}: differs from the model in bytes {baseOffset + i}..{baseOffset + j} (first: 0x{actual[i]:x2}, model 0x{expected[i]:x2}; chunk {(baseOffset + i) / chunkSize} of {chunkSize} bytes)");
        }
    }
}
