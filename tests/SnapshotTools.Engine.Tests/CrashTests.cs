using System.Text;
using SnapshotTools.Engine.Storage;
using Xunit;
using Xunit.Sdk;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Crash tests (issue 2): random operation sequences run once to count the storage operations, then re-run with a
/// simulated power loss at crash points across that range (every one for short sequences, a sample including the
/// first and last storage operation of every volume operation for long ones). Each crash image (unflushed writes
/// kept, lost or torn, chosen by a seeded <see cref="Random"/>) is reopened and checked against the model.
/// </summary>
/// <remarks>
/// What must hold after reopening:
/// <list type="bullet">
/// <item>Every snapshot whose create returned (and whose delete did not) exists, in order, with its size and name
/// (a rename that returned is durable) and reads exactly as the model. The snapshot being created, deleted or
/// renamed by the interrupted operation may or may not be there (under either name), and reads correctly if it is.</item>
/// <item>The live volume: everything made durable (by Flush or by a structural operation, which flushes first,
/// docs/store-format.md) is intact, and every sector equals that sector in one of the model states reached since
/// the last durability point, including the interrupted operation's result: each unflushed write is old or new.
/// Sequences with unaligned I/O are checked per byte instead, because <see cref="MemoryStorage"/> tears a write
/// 512 bytes from its own start, so an unaligned write can legitimately end in the middle of a device sector.</item>
/// <item>Every delta between surviving snapshots, and from each snapshot to the recovered live volume, applies
/// exactly and never under-reports.</item>
/// <item>A rollback interrupted after it recorded its target is completed by Open (Recovery.RollbackOutcome says
/// so) and the live volume equals the target; otherwise it never started.</item>
/// <item>The recovered volume stays usable: more random operations, a write and a snapshot all check out.</item>
/// </list>
/// </remarks>
public class CrashTests
{
    private const int SequencesPerSeed = 10;
    private const int MaxCrashPointsPerSequence = 60;

    public static IEnumerable<object[]> Seeds => Enumerable.Range(1, 30).Select(i => new object[] { 5000 + i });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomSequencesRecoverFromACrashAtAnyPoint(int seed)
    {
        for (int s = 0; s < SequencesPerSeed; s++)
        {
            var rng = new Random(seed * 104729 + s);
            bool aligned = rng.Next(2) == 0;
            var options = new GeneratorOptions
            {
                MaxChunks = rng.Next(4, 25),
                SectorAligned = aligned,
                Protection = rng.Next(3) == 0,
                MaxSnapshots = 4,
            };
            ProtectionMode mode = rng.Next(2) == 0 ? ProtectionMode.PreserveAndFilter : ProtectionMode.DoNotPreserve;
            CrashCase c = CrashCase.Random(seed, s, rng, options, mode, rng.Next(4, 15));
            RunAllCrashPoints(c, rng);
        }
    }

    [Theory]
    [InlineData(6001, false, 0)]
    [InlineData(6002, true, 0)]
    [InlineData(6003, false, 1)]
    [InlineData(6004, true, -1)]
    [InlineData(6005, false, -1)]
    [InlineData(6006, true, 1)]
    public void InterruptedRollbackIsCompletedOnOpen(int seed, bool newerSnapshot, int resize)
    {
        var rng = new Random(seed);
        var options = new GeneratorOptions { MaxChunks = 24, SectorAligned = seed % 2 == 0 };
        var gen = new OpGenerator(rng, options);
        long size = 20L * options.ChunkSize + 1000;
        var model = new VolumeModel(size);
        var ops = new List<ModelOp>();
        void Add(ModelOp op)
        {
            ops.Add(op);
            model.Apply(op);
        }

        // Data in every chunk, the target snapshot, then changes to most chunks (and a size change) after it.
        byte[] fill = new byte[size];
        rng.NextBytes(fill);
        Add(new ModelOp(ModelOpKind.Write, 0, size, fill));
        Add(new ModelOp(ModelOpKind.Discard, 3L * options.ChunkSize, options.ChunkSize));
        Add(new ModelOp(ModelOpKind.CreateSnapshot, Name: "target"));
        for (int i = 0; i < 12; i++)
        {
            Add(i % 4 == 3
                ? new ModelOp(ModelOpKind.Discard, rng.Next(20) * (long)options.ChunkSize, options.ChunkSize)
                : gen.NextWrite(model.Size));
        }
        if (resize != 0)
        {
            Add(new ModelOp(ModelOpKind.Resize, Offset: resize > 0 ? size + 3L * options.ChunkSize + 512 : size - 5L * options.ChunkSize - 512));
            Add(gen.NextWrite(model.Size));
        }
        if (newerSnapshot)
        {
            Add(new ModelOp(ModelOpKind.CreateSnapshot, Name: "newer"));
            Add(gen.NextWrite(model.Size));
            Add(new ModelOp(ModelOpKind.WriteZeroes, 0, 2L * options.ChunkSize));
        }
        // Flushed, so the state before the rollback is exact rather than old-or-new per sector.
        Add(new ModelOp(ModelOpKind.Flush));
        int rollbackIndex = ops.Count;
        Add(new ModelOp(ModelOpKind.Rollback, Name: "target"));
        var c = new CrashCase(seed, 0, options, ProtectionMode.PreserveAndFilter, size, ops);

        var trace = new List<(long Operation, string File)>();
        Execution counting = Execute(c, 0, trace);
        (long start, long end) = counting.OpRanges[rollbackIndex];
        // From the first rewrite of a live chunk to the metadata write that clears the target (the first after the last
        // rewrite), the target is durably recorded: a crash anywhere in there must be completed by Open.
        var inRollback = trace.Where(t => t.Operation > start && t.Operation <= end).ToList();
        long firstLiveWrite = inRollback.Where(t => t.File == "live.dat").Select(t => t.Operation).DefaultIfEmpty(-1).Min();
        long lastLiveWrite = inRollback.Where(t => t.File == "live.dat").Select(t => t.Operation).DefaultIfEmpty(-1).Max();
        long lastMetaWrite = inRollback.Where(t => t.Operation > lastLiveWrite && t.File.StartsWith("volume.meta", StringComparison.Ordinal)).Select(t => t.Operation).DefaultIfEmpty(-1).Min();
        Assert.True(firstLiveWrite > 0 && lastMetaWrite > firstLiveWrite, $"the rollback should rewrite live chunks between metadata writes (storage ops {start + 1}..{end})");

        int completedByOpen = 0;
        for (long n = start + 1; n <= end; n++)
        {
            Execution exec = Execute(c, n - counting.BaseOps, null);
            string context = $"Seed {seed}, crash at storage operation {n} (rollback spans {start + 1}..{end}, first live write {firstLiveWrite}, target cleared by the metadata write at {lastMetaWrite})";
            try
            {
                if (exec.InProgress != rollbackIndex)
                {
                    throw new ModelMismatchException($"the crash hit operation {exec.InProgress}, expected the rollback");
                }
                MemoryStorage image = exec.Memory.CrashImage(new Random(HashCode.Combine(seed, n)));
                Volume v = Volume.Open(image);
                try
                {
                    string? outcome = v.Recovery.RollbackOutcome;
                    if (n >= firstLiveWrite && n <= lastMetaWrite && outcome == null)
                    {
                        throw new ModelMismatchException("the crash came after the rollback had started rewriting chunks, but Open reports no rollback outcome");
                    }
                    VolumeModel post = exec.Model.Clone();
                    post.Apply(ops[rollbackIndex]);
                    byte[] live = ModelCheck.ReadLive(v);
                    if (outcome != null)
                    {
                        completedByOpen++;
                        ModelCheck.Equal($"live volume after Open completed the rollback ({outcome})", post.Live, live);
                    }
                    else if (!live.AsSpan().SequenceEqual(post.Live))
                    {
                        ModelCheck.Equal("live volume after a rollback that had not started (no outcome reported)", exec.Model.Live, live);
                    }
                    ModelCheck.Snapshots(v, post);
                    post.Live = live;
                    ModelCheck.Deltas(v, post);
                    ContinueAfterRecovery(ref v, image, post, options, new Random(HashCode.Combine(seed, n, 1)), "after-rollback-crash-");
                }
                finally
                {
                    v.Dispose();
                }
            }
            catch (Exception ex) when (ex is not XunitException)
            {
                throw new XunitException($"{context}: {ex.Message}\nOperation log:\n{c.Log(rollbackIndex)}\n{ex}");
            }
        }
        Assert.True(completedByOpen > 0, "no crash point produced a rollback completed by Open");
    }

    /// <summary>Counts the storage operations of <paramref name="c"/>, then crashes at each chosen point and checks.</summary>
    private static void RunAllCrashPoints(CrashCase c, Random rng)
    {
        Execution counting = Execute(c, 0, null);
        long total = counting.TotalOps;
        var points = new SortedSet<long>();
        if (total <= MaxCrashPointsPerSequence)
        {
            for (long n = 1; n <= total; n++)
            {
                points.Add(n);
            }
        }
        else
        {
            // The first and last storage operation of every volume operation, then random points in between.
            foreach ((long start, long end) in counting.OpRanges)
            {
                if (end > start)
                {
                    points.Add(start + 1 - counting.BaseOps);
                    points.Add(end - counting.BaseOps);
                }
            }
            while (points.Count < Math.Min(total, MaxCrashPointsPerSequence + c.Ops.Count))
            {
                points.Add(1 + rng.NextInt64(total));
            }
        }
        // The background drain of the write-back window runs beside the operations, so a replay may count a few
        // storage operations more or fewer than the counting run (a store that is clean by the time a sync runs is
        // not synced again). A point past the end of a shorter replay then does not crash; that replay is still a
        // complete, checked run. Most points must crash, or the test would check nothing.
        int uncrashed = 0;
        foreach (long n in points)
        {
            Execution exec = Execute(c, n, null);
            try
            {
                if (exec.InProgress < 0)
                {
                    uncrashed++;
                    continue;
                }
                CheckRecovered(c, exec, n);
            }
            catch (Exception ex) when (ex is not XunitException)
            {
                throw new XunitException($"Seed {c.Seed}, sequence {c.Sequence}, crash at storage operation {n} of {total} during [{exec.InProgress}] {(exec.InProgress >= 0 ? c.Ops[exec.InProgress] : null)}: {ex.Message}\nOperation log:\n{c.Log(exec.InProgress)}\n{ex}");
            }
        }
        if (uncrashed * 10 > points.Count)
        {
            throw new XunitException($"Seed {c.Seed}, sequence {c.Sequence}: {uncrashed} of {points.Count} crash points were never reached (of {total} storage operations counted): the replays differ too much to test anything");
        }
    }

    /// <summary>Reopens the crash image of <paramref name="exec"/> and checks it against the model.</summary>
    private static void CheckRecovered(CrashCase c, Execution exec, long n)
    {
        ModelOp op = c.Ops[exec.InProgress];
        VolumeModel pre = exec.Model;
        VolumeModel post = pre.Clone();
        post.Apply(op);
        MemoryStorage image = exec.Memory.CrashImage(new Random(HashCode.Combine(c.Seed, c.Sequence, n)));
        Volume v = Volume.Open(image);
        try
        {
            // Snapshots: all that were completed, in order; the one the interrupted operation touched may differ.
            var recovered = new VolumeModel(0);
            int lastIndex = -1;
            foreach (SnapshotInfo info in v.Snapshots)
            {
                int index = pre.Snapshots.FindIndex(s => s.Id == info.Id);
                SnapshotModel expected;
                if (index >= 0)
                {
                    expected = pre.Snapshots[index];
                    bool renamed = op.Kind == ModelOpKind.RenameSnapshot && string.Equals(op.Name, expected.Name, StringComparison.OrdinalIgnoreCase);
                    if (info.Name != expected.Name && !(renamed && info.Name == op.NewName))
                    {
                        throw new ModelMismatchException($"snapshot {info.Id} is named '{info.Name}', model '{expected.Name}'");
                    }
                    if (index <= lastIndex)
                    {
                        throw new ModelMismatchException("the snapshots are out of order");
                    }
                    lastIndex = index;
                }
                else if (op.Kind == ModelOpKind.CreateSnapshot && info.Name == op.Name)
                {
                    expected = post.Snapshots[^1];
                    lastIndex = int.MaxValue;
                }
                else
                {
                    throw new ModelMismatchException($"unexpected snapshot '{info.Name}' ({info.Id}) after the crash");
                }
                if (info.Size != expected.Size)
                {
                    throw new ModelMismatchException($"snapshot '{info.Name}' has size {info.Size}, model {expected.Size}");
                }
                ModelCheck.Equal($"snapshot '{info.Name}' after the crash", expected.Data, ModelCheck.ReadSnapshot(v, info));
                recovered.Snapshots.Add(new SnapshotModel(info.Name, expected.Data, expected.Protected, info.Id));
            }
            foreach (SnapshotModel s in pre.Snapshots)
            {
                bool deleting = op.Kind == ModelOpKind.DeleteSnapshot && string.Equals(op.Name, s.Name, StringComparison.OrdinalIgnoreCase);
                if (!deleting && recovered.Snapshots.All(r => r.Id != s.Id))
                {
                    throw new ModelMismatchException($"snapshot '{s.Name}' was lost in the crash");
                }
            }

            // The protection map: the old one, or the new one if it was being set.
            ByteRange[] protection = VolumeModel.Normalize(v.ProtectedRanges);
            if (!protection.SequenceEqual(pre.Protected) && !(op.Kind == ModelOpKind.SetProtectedRanges && protection.SequenceEqual(post.Protected)))
            {
                throw new ModelMismatchException("the protection map is neither the old nor the new one");
            }
            recovered.Protected = protection;

            // The live volume.
            byte[] live = ModelCheck.ReadLive(v);
            string? outcome = v.Recovery.RollbackOutcome;
            if (outcome != null && op.Kind != ModelOpKind.Rollback)
            {
                throw new ModelMismatchException($"Open reports a rollback outcome ({outcome}) though no rollback was running");
            }
            if (op.Kind == ModelOpKind.Rollback && outcome != null)
            {
                ModelCheck.Equal($"live volume after Open completed the rollback ({outcome})", post.Live, live);
            }
            else if (StructuralChangeSurvived(op, pre, post, v, protection, live))
            {
                // The interrupted operation's metadata write reached the disk, and a structural operation flushes the
                // data before it (docs/store-format.md): everything before it is durable.
                ModelCheck.Equal($"live volume after the metadata write of the interrupted {op.Kind} survived", post.Live, live);
            }
            else if (!(op.Kind == ModelOpKind.Rollback && live.AsSpan().SequenceEqual(post.Live)))
            {
                var candidates = new List<byte[]>(exec.States);
                if (op.Kind is ModelOpKind.Write or ModelOpKind.Discard or ModelOpKind.WriteZeroes)
                {
                    candidates.Add(post.Live);
                }
                CheckOldOrNew(live, candidates, c.Options.SectorAligned ? 512 : 1);
            }
            recovered.Live = live;

            ModelCheck.Deltas(v, recovered);
            ContinueAfterRecovery(ref v, image, recovered, c.Options, new Random(HashCode.Combine(c.Seed, c.Sequence, n, 7)), "after-crash-");
        }
        finally
        {
            v.Dispose();
        }
    }

    /// <summary>Whether the recovered volume shows the effect of the interrupted structural operation.</summary>
    private static bool StructuralChangeSurvived(ModelOp op, VolumeModel pre, VolumeModel post, Volume v, ByteRange[] protection, byte[] live)
    {
        IReadOnlyList<SnapshotInfo> infos = v.Snapshots;
        return op.Kind switch
        {
            ModelOpKind.CreateSnapshot => infos.Any(s => s.Name == op.Name),
            ModelOpKind.DeleteSnapshot => infos.All(s => s.Id != pre.Find(op.Name!).Id),
            ModelOpKind.RenameSnapshot => !string.Equals(op.Name, op.NewName, StringComparison.OrdinalIgnoreCase) && infos.Any(s => s.Name == op.NewName),
            ModelOpKind.SetProtectedRanges => !post.Protected.SequenceEqual(pre.Protected) && protection.SequenceEqual(post.Protected),
            ModelOpKind.Resize => live.Length == post.Size && post.Size != pre.Size,
            _ => false,
        };
    }

    /// <summary>
    /// Checks that every granule (512-byte sector, or byte) of <paramref name="live"/> equals the same granule of one of
    /// the <paramref name="states"/> of the same length.
    /// </summary>
    private static void CheckOldOrNew(byte[] live, List<byte[]> states, int granule)
    {
        List<byte[]> same = states.Where(s => s.Length == live.Length).ToList();
        if (same.Count == 0)
        {
            throw new ModelMismatchException($"live size {live.Length} is none of the sizes since the last durable point ({string.Join(", ", states.Select(s => s.Length).Distinct())})");
        }
        for (int pos = 0; pos < live.Length; pos += granule)
        {
            int len = Math.Min(granule, live.Length - pos);
            ReadOnlySpan<byte> actual = live.AsSpan(pos, len);
            bool found = false;
            foreach (byte[] s in same)
            {
                if (s.AsSpan(pos, len).SequenceEqual(actual))
                {
                    found = true;
                    break;
                }
            }
            if (!found)
            {
                string versions = string.Join(", ", same.Select(s => $"0x{s[pos]:x2}"));
                throw new ModelMismatchException($"live {(granule == 1 ? "byte" : "sector")} at {pos} (chunk {pos / 4096} if 4 KiB chunks) holds 0x{live[pos]:x2}..., which is none of the {same.Count} model states since the last durable point (they start {versions})");
            }
        }
    }

    /// <summary>The recovered volume must stay usable: random operations, then a write and a snapshot, all checked.</summary>
    private static void ContinueAfterRecovery(ref Volume v, IStorage storage, VolumeModel model, GeneratorOptions options, Random rng, string prefix)
    {
        var gen = new OpGenerator(rng, options with { NamePrefix = prefix });
        var log = new StringBuilder();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                ModelOp op = gen.Next(model);
                log.AppendLine($"  [after recovery {i}] {op}");
                SnapshotInfo? info = EngineOps.Apply(ref v, storage, op);
                model.Apply(op);
                if (info != null)
                {
                    model.Snapshots[^1].Id = info.Id;
                }
                ModelCheck.All(v, model, deltas: false);
            }
            ModelOp write = gen.NextWrite(model.Size);
            log.AppendLine($"  [after recovery] {write}; CreateSnapshot(\"{prefix}final\")");
            v.Write(write.Offset, write.Data);
            model.Apply(write);
            if (model.Snapshots.Count >= options.MaxSnapshots)
            {
                v.DeleteSnapshot(model.Snapshots[0].Name);
                model.Snapshots.RemoveAt(0);
            }
            v.CreateSnapshot(prefix + "final");
            model.Apply(new ModelOp(ModelOpKind.CreateSnapshot, Name: prefix + "final"));
            ModelCheck.All(v, model, deltas: true);
        }
        catch (Exception ex) when (ex is not XunitException)
        {
            throw new ModelMismatchException($"after recovery: {ex.Message}\n{log}");
        }
    }

    /// <summary>
    /// Runs <paramref name="c"/> on a fresh fault-injecting storage, crashing at storage operation
    /// <paramref name="crashAt"/> counted from the end of Volume.Create (0: never).
    /// </summary>
    private static Execution Execute(CrashCase c, long crashAt, List<(long Operation, string File)>? trace)
    {
        var memory = new MemoryStorage();
        var fault = new FaultInjectingStorage(memory);
        Volume v = Volume.Create(fault, new VolumeCreateOptions { Size = c.InitialSize, ChunkSize = c.Options.ChunkSize, ProtectionMode = c.Mode });
        v.WriteBackLimit = VolumeModel.WriteBackFor((int)(c.InitialSize % 1000), c.Options.ChunkSize);
        var exec = new Execution(memory, new VolumeModel(c.InitialSize), fault.Operations);
        if (trace != null)
        {
            fault.FailWrite = (file, _, _) => trace.Add((fault.Operations, file));
        }
        fault.CrashAtOperation = crashAt == 0 ? 0 : exec.BaseOps + crashAt;
        exec.States.Add((byte[])exec.Model.Live.Clone());
        try
        {
            for (int k = 0; k < c.Ops.Count; k++)
            {
                ModelOp op = c.Ops[k];
                long before = fault.Operations;
                long sizeBefore = exec.Model.Size;
                SnapshotInfo? info;
                try
                {
                    info = EngineOps.Apply(ref v, fault, op);
                }
                catch (SimulatedCrashException)
                {
                    exec.InProgress = k;
                    return exec;
                }
                exec.OpRanges.Add((before, fault.Operations));
                exec.Model.Apply(op);
                if (info != null)
                {
                    exec.Model.Snapshots[^1].Id = info.Id;
                }
                if (op.IsDurabilityPoint(sizeBefore))
                {
                    exec.States.Clear();
                }
                if (op.IsDurabilityPoint(sizeBefore) || op.ChangesLiveData)
                {
                    exec.States.Add((byte[])exec.Model.Live.Clone());
                }
            }
            exec.TotalOps = fault.Operations - exec.BaseOps;
            if (fault.Crashed)
            {
                // The crash point fell on a background drain's operation after the last operation returned: the
                // storage is gone, there is nothing left to check in this run (counted as a point not reached).
                return exec;
            }
            // The counting run must also be a correct run.
            ModelCheck.All(v, exec.Model, deltas: true);
            return exec;
        }
        finally
        {
            // A crashed volume's Dispose swallows the simulated crash; nothing it does reaches the crash image.
            v.Dispose();
        }
    }

    /// <summary>One replayable sequence: the volume's creation options and the operations.</summary>
    private sealed record CrashCase(int Seed, int Sequence, GeneratorOptions Options, ProtectionMode Mode, long InitialSize, List<ModelOp> Ops)
    {
        public static CrashCase Random(int seed, int sequence, Random rng, GeneratorOptions options, ProtectionMode mode, int count)
        {
            var gen = new OpGenerator(rng, options);
            long size = gen.NextSize();
            var model = new VolumeModel(size);
            var ops = new List<ModelOp>();
            for (int i = 0; i < count; i++)
            {
                ModelOp op = gen.Next(model);
                model.Apply(op);
                ops.Add(op);
            }
            return new CrashCase(seed, sequence, options, mode, size, ops);
        }

        public string Log(int crashed)
        {
            var sb = new StringBuilder();
            sb.AppendLine($"Volume.Create(Size={InitialSize}, ChunkSize={Options.ChunkSize}, ProtectionMode={Mode}); sector-aligned I/O: {Options.SectorAligned}");
            for (int k = 0; k < Ops.Count; k++)
            {
                sb.AppendLine($"  [{k}] {Ops[k]}{(k == crashed ? "   <-- crashed here" : "")}");
                if (k == crashed)
                {
                    break;
                }
            }
            return sb.ToString();
        }
    }

    /// <summary>What one run did: the model of the completed operations and the live states since the last durable point.</summary>
    private sealed class Execution
    {
        public Execution(MemoryStorage memory, VolumeModel model, long baseOps)
        {
            Memory = memory;
            Model = model;
            BaseOps = baseOps;
        }

        public MemoryStorage Memory { get; }

        /// <summary>Gets the model after the completed operations (the interrupted one not applied).</summary>
        public VolumeModel Model { get; }

        /// <summary>Gets the live images reached since the last durability point, that one included.</summary>
        public List<byte[]> States { get; } = new();

        /// <summary>Gets the storage operation numbers (absolute) before and after each completed operation.</summary>
        public List<(long Start, long End)> OpRanges { get; } = new();

        public long BaseOps { get; }

        public long TotalOps { get; set; }

        public int InProgress { get; set; } = -1;
    }
}
