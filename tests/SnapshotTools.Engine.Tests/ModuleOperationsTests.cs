using System.Security.Cryptography;
using SnapshotTools.Core;
using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>The administrator workflows of the module, run through SnapshotTools.Core exactly as the cmdlets call it.</summary>
public sealed class ModuleOperationsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "st-ops-" + Guid.NewGuid().ToString("N"));
    private readonly VolumeStore _store;
    private readonly string _repo;

    public ModuleOperationsTests()
    {
        _store = new VolumeStore(Path.Combine(_root, "store"));
        _repo = Path.Combine(_root, "backups");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static DeltaStreamOptions Options => new() { Compression = StreamCompression.Deflate, Parallelism = 1 };

    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void WriteAt(VolumeLocation v, long offset, byte[] data) =>
        VolumeOperations.Write(v, new MemoryStream(data), offset, null, CancellationToken.None);

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Nightly_backup_import_elsewhere_verify_restore_and_rollback()
    {
        VolumeLocation db = _store.ResolveNew("db01");
        SnapshotVolume created = VolumeOperations.Create(db, 4 << 20, 64 * 1024, ProtectionMode.PreserveAndFilter, recreate: false);
        Assert.Equal("db01", created.Name);
        Assert.Equal(0, created.SnapshotCount);

        WriteAt(db, 0, Random(300_000, 1));
        VolumeSnapshot n1 = SnapshotOperations.Create(db, "nightly-1", "first");
        WriteAt(db, 1 << 20, Random(70_000, 2));
        VolumeSnapshot n2 = SnapshotOperations.Create(db, "nightly-2", null);
        Assert.Equal(n1.Sequence + 1, n2.Sequence);
        Assert.Equal(db.Path, n2.VolumePath);

        // Get-SnapshotDelta | Export-Backup: the delta object carries what Export-Backup binds.
        SnapshotDelta full = DeltaOperations.Get(db, null, "nightly-1", false, false, CancellationToken.None);
        Assert.True(full.IsFull);
        Assert.Null(full.From);
        Assert.Equal(300_000, full.DataBytes, 65536.0);
        SnapshotDelta incr = DeltaOperations.Get(db, "nightly-1", "nightly-2", false, true, CancellationToken.None);
        Assert.False(incr.IsFull);
        Assert.Equal("nightly-1", incr.From);
        Assert.Equal("nightly-2", incr.To);
        Assert.Equal(incr.ExtentCount, incr.Extents.Count);
        Assert.True(incr.DataBytes >= 70_000 && incr.DataBytes <= 3 * 65536);

        Backup b1 = BackupOperations.Export(_repo, db, full.From, full.To!, full.IsFull, Options, null, CancellationToken.None);
        Backup b2 = BackupOperations.Export(_repo, db, incr.From, incr.To!, incr.IsFull, Options, null, CancellationToken.None);
        Assert.Equal(BackupKind.Full, b1.Kind);
        Assert.Equal(BackupKind.Incremental, b2.Kind);
        Assert.Equal(b1.BackupId, b2.BaseBackupId);
        Assert.True(File.Exists(b2.StreamPath));

        // The nightly case: no -From, incremental from the newest snapshot already backed up.
        WriteAt(db, 2 << 20, Random(10_000, 3));
        SnapshotOperations.Create(db, "nightly-3", null);
        Backup b3 = BackupOperations.Export(_repo, db, null, "nightly-3", false, Options, null, CancellationToken.None);
        Assert.Equal(BackupKind.Incremental, b3.Kind);
        Assert.Equal("nightly-2", b3.From);

        Assert.Equal(new[] { b1.BackupId, b2.BackupId, b3.BackupId }, BackupOperations.List(_repo, new BackupFilter()).Select(b => b.BackupId));
        Assert.Equal(new[] { b1.BackupId, b2.BackupId, b3.BackupId }, BackupOperations.Chain(_repo, b3.BackupId).Select(b => b.BackupId));
        Assert.All(BackupOperations.List(_repo, new BackupFilter()), b => Assert.True(BackupOperations.Test(_repo, b.BackupId, true, db, null, null, CancellationToken.None).IsValid));
        BackupTestResult deep = BackupOperations.Test(_repo, b2.BackupId, true, db, null, null, CancellationToken.None);
        Assert.True(deep.DeepCompared);

        // Import elsewhere: the streams, in order, build a replica; importing one again is skipped.
        VolumeLocation replica = new VolumeStore(Path.Combine(_root, "other-store")).ResolveNew("db01-replica");
        foreach (Backup b in BackupOperations.List(_repo, new BackupFilter { VolumeNames = new[] { "db*" } }))
        {
            Assert.False(ImportOperations.AlreadyImported(replica, b.SnapshotId));
            ImportOperations.Outcome o = ImportOperations.Import(replica, b.StreamPath, false, null, null, CancellationToken.None);
            Assert.Equal(b.SnapshotName, o.Snapshot.Name);
            Assert.Equal(b.BackupId == b1.BackupId, o.CreatedVolume);
            Assert.True(ImportOperations.AlreadyImported(replica, b.SnapshotId));
        }
        string source3 = Path.Combine(_root, "source3.img");
        string replica3 = Path.Combine(_root, "replica3.img");
        VolumeOperations.Export(db, "nightly-3", source3, false, null, CancellationToken.None);
        VolumeOperations.Export(replica, "nightly-3", replica3, false, null, CancellationToken.None);
        Assert.Equal(Hash(source3), Hash(replica3));
        Assert.Equal(SnapshotErrorCode.TargetExists, Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Export(db, null, source3, false, null, CancellationToken.None)).Code);

        // Point-in-time restore into a new volume and into an image.
        Backup atN2 = BackupOperations.List(_repo, new BackupFilter { VolumeNames = new[] { "db01" }, PointInTime = n2.CreatedUtc }).Single();
        Assert.Equal(b2.BackupId, atN2.BackupId);
        BackupRestoreResult restored = BackupOperations.RestoreToVolume(_repo, atN2.BackupId, _store.ResolveNew("db01-restored"), null, null, CancellationToken.None);
        Assert.True(restored.IsVolume);
        Assert.Equal("nightly-2", restored.Volume!.NewestSnapshot);
        Assert.True(SnapshotOperations.Compare(_store.Resolve("db01-restored"), "nightly-2", null, null, CancellationToken.None).Identical);
        Assert.Equal(SnapshotErrorCode.VolumeExists, Assert.Throws<SnapshotToolsException>(() => BackupOperations.RestoreToVolume(_repo, atN2.BackupId, _store.Resolve("db01-restored"), null, null, CancellationToken.None)).Code);
        string image = Path.Combine(_root, "n2.img");
        BackupRestoreResult toImage = BackupOperations.RestoreToImage(_repo, atN2.BackupId, image, false, null, null, CancellationToken.None);
        Assert.False(toImage.IsVolume);
        string n2Image = Path.Combine(_root, "n2-source.img");
        VolumeOperations.Export(db, "nightly-2", n2Image, false, null, CancellationToken.None);
        Assert.Equal(Hash(n2Image), Hash(image));

        // Rollback and compare.
        WriteAt(db, 0, Random(5000, 9));
        SnapshotComparison before = SnapshotOperations.Compare(db, "nightly-1", null, null, CancellationToken.None);
        Assert.False(before.Identical);
        Assert.True(before.DifferentBytes > 0);
        (SnapshotVolume after, long chunks) = SnapshotOperations.Rollback(db, "nightly-1", null);
        Assert.True(chunks > 0);
        Assert.Equal(3, after.SnapshotCount);
        Assert.True(SnapshotOperations.Compare(db, "nightly-1", null, null, CancellationToken.None).Identical);
        Assert.False(SnapshotOperations.Compare(db, "nightly-1", "nightly-2", null, CancellationToken.None).Identical);

        // Remove a snapshot in the middle; the others read as before.
        SnapshotOperations.Remove(db, "nightly-2", null, CancellationToken.None);
        Assert.Equal(new[] { "nightly-1", "nightly-3" }, SnapshotOperations.Get(db, new SnapshotFilter(), out _).Select(s => s.Name));
        string n3Again = Path.Combine(_root, "n3-again.img");
        VolumeOperations.Export(db, "nightly-3", n3Again, false, null, CancellationToken.None);
        Assert.Equal(Hash(source3), Hash(n3Again));
    }

    [Fact]
    public void Comparison_counts_exact_bytes_and_ranges()
    {
        VolumeLocation v = _store.ResolveNew("cmp");
        VolumeOperations.Create(v, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false);
        WriteAt(v, 0, new byte[8192]);
        SnapshotOperations.Create(v, "a", null);
        WriteAt(v, 100, new byte[] { 1, 2, 3 });
        WriteAt(v, 5000, new byte[] { 0, 9 });
        SnapshotOperations.Create(v, "b", null);
        SnapshotComparison c = SnapshotOperations.Compare(v, "a", "b", null, CancellationToken.None);
        Assert.Equal(4, c.DifferentBytes);
        Assert.Equal(new[] { new ByteRange(100, 3), new ByteRange(5001, 1) }, c.DifferentRanges);
        // Order of the two does not matter.
        Assert.Equal(4, SnapshotOperations.Compare(v, "b", "a", null, CancellationToken.None).DifferentBytes);
        Assert.Equal(SnapshotErrorCode.InvalidArgument, Assert.Throws<SnapshotToolsException>(() => SnapshotOperations.Compare(v, "a", "a", null, CancellationToken.None)).Code);
    }

    [Fact]
    public void Retention_preview_and_apply_and_merge()
    {
        VolumeLocation db = _store.ResolveNew("ret");
        VolumeOperations.Create(db, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false);
        var ids = new List<Guid>();
        for (int i = 1; i <= 4; i++)
        {
            WriteAt(db, i * 8192, Random(4096, i));
            SnapshotOperations.Create(db, $"n{i}", null);
            ids.Add(BackupOperations.Export(_repo, db, null, $"n{i}", false, Options, null, CancellationToken.None).BackupId);
        }
        // Merging the newest makes a synthetic full; then keep-last 1 can drop the old chain.
        Backup merged = BackupOperations.Merge(_repo, ids[3], null, null, null, CancellationToken.None);
        Assert.True(merged.IsSynthetic);
        Assert.Equal(BackupKind.Full, merged.Kind);
        RetentionPolicy policy = new RetentionSettings { KeepLast = 1 }.ToPolicy();
        IReadOnlyList<RetentionDecisionInfo> decisions = BackupOperations.PlanRetention(_repo, policy, null, out RetentionPlan plan);
        Assert.Equal(5, decisions.Count);
        Assert.Equal(new[] { merged.BackupId }, decisions.Where(d => d.Keep).Select(d => d.Backup.BackupId));
        Assert.All(decisions, d => Assert.NotEmpty(d.Reasons));
        Assert.Equal(5, BackupOperations.List(_repo, new BackupFilter()).Count);
        IReadOnlyList<Backup> order = BackupOperations.RemovalOrder(decisions.Where(d => !d.Keep).Select(d => d.Backup));
        Assert.Equal(ids[3], order[0].BackupId);
        Assert.Equal(ids[0], order[^1].BackupId);
        IReadOnlyList<Backup> removed = BackupOperations.ApplyRetention(_repo, plan);
        Assert.Equal(4, removed.Count);
        Assert.Equal(merged.BackupId, BackupOperations.List(_repo, new BackupFilter()).Single().BackupId);
        Assert.True(BackupOperations.Test(_repo, merged.BackupId, false, null, null, null, CancellationToken.None).IsValid);
    }

    [Fact]
    public void Removing_a_base_needs_its_dependents()
    {
        VolumeLocation db = _store.ResolveNew("dep");
        VolumeOperations.Create(db, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false);
        SnapshotOperations.Create(db, "a", null);
        Backup a = BackupOperations.Export(_repo, db, null, "a", false, Options, null, CancellationToken.None);
        WriteAt(db, 0, Random(100, 1));
        SnapshotOperations.Create(db, "b", null);
        Backup b = BackupOperations.Export(_repo, db, null, "b", false, Options, null, CancellationToken.None);
        Assert.Equal(new[] { b.BackupId }, BackupOperations.Dependents(_repo, a.BackupId).Select(x => x.BackupId));
        Assert.Equal(SnapshotErrorCode.BackupHasDependents, Assert.Throws<SnapshotToolsException>(() => BackupOperations.Remove(_repo, a.BackupId, false)).Code);
        Assert.Equal(2, BackupOperations.Remove(_repo, a.BackupId, true).Count);
        Assert.Empty(BackupOperations.List(_repo, new BackupFilter()));
        Assert.Equal(SnapshotErrorCode.UnknownBackup, Assert.Throws<SnapshotToolsException>(() => BackupOperations.Get(_repo, a.BackupId)).Code);
    }

    [Fact]
    public void Volume_errors_carry_the_engine_codes()
    {
        VolumeLocation v = _store.ResolveNew("err");
        Assert.Equal(SnapshotErrorCode.VolumeNotFound, Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Describe(v)).Code);
        Assert.Equal(SnapshotErrorCode.VolumeNotFound, Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Remove(v)).Code);
        VolumeOperations.Create(v, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false);
        Assert.Equal(SnapshotErrorCode.VolumeExists, Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Create(v, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false)).Code);
        SnapshotVolume again = VolumeOperations.Create(v, 2 << 20, 4096, ProtectionMode.PreserveAndFilter, recreate: true);
        Assert.Equal(2, again.Generation);
        SnapshotOperations.Create(v, "s", null);
        Assert.Equal(SnapshotErrorCode.NameInUse, Assert.Throws<SnapshotToolsException>(() => SnapshotOperations.Create(v, "S", null)).Code);
        Assert.Equal(SnapshotErrorCode.UnknownSnapshot, Assert.Throws<SnapshotToolsException>(() => SnapshotOperations.Find(v, "nope")).Code);
        Assert.Equal(SnapshotErrorCode.OutOfRange, Assert.Throws<SnapshotToolsException>(() => WriteAt(v, (2 << 20) - 10, new byte[20])).Code);
        using (VolumeOperations.Open(v))
        {
            Assert.Equal(SnapshotErrorCode.VolumeInUse, Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Describe(v)).Code);
        }
        Assert.Equal(SnapshotErrorCode.RepositoryNotFound, Assert.Throws<SnapshotToolsException>(() => BackupOperations.List(Path.Combine(_root, "no-repo"), new BackupFilter())).Code);
        VolumeOperations.Remove(v);
        Assert.False(VolumeOperations.Exists(v));
    }

    [Fact]
    public void Resize_plans_say_when_data_is_lost()
    {
        VolumeLocation v = _store.ResolveNew("rs");
        VolumeOperations.Create(v, 1 << 20, 4096, ProtectionMode.PreserveAndFilter, false);
        Assert.False(VolumeOperations.PlanResize(v, 2 << 20).Shrinks);
        Assert.True(VolumeOperations.PlanResize(v, 1 << 19).LosesData);
        SnapshotOperations.Create(v, "keep", null);
        VolumeOperations.ResizePlan plan = VolumeOperations.PlanResize(v, 1 << 19);
        Assert.True(plan.Shrinks);
        Assert.False(plan.LosesData);
        Assert.Equal(1 << 19, VolumeOperations.Resize(v, 1 << 19).Size);
        Assert.Equal(1 << 20, SnapshotOperations.Find(v, "keep").Size);
    }

    [Fact]
    public void Raw_images_import_and_export_and_cancel_cleanly()
    {
        string image = Path.Combine(Directory.CreateDirectory(_root).FullName, "disk.img");
        byte[] content = new byte[1 << 20];
        Random(200_000, 5).CopyTo(content, 4096);
        File.WriteAllBytes(image, content);
        SnapshotVolume v = VolumeOperations.Import(image, _store.ResolveNew("disk"), 65536, false, null, CancellationToken.None);
        Assert.Equal(1 << 20, v.Size);
        string back = Path.Combine(_root, "back.img");
        VolumeOperations.Export(_store.Resolve("disk"), null, back, false, null, CancellationToken.None);
        Assert.Equal(Hash(image), Hash(back));
        Assert.Throws<FileNotFoundException>(() => VolumeOperations.Import(Path.Combine(_root, "missing.img"), _store.ResolveNew("m"), 65536, false, null, CancellationToken.None));

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex = Assert.Throws<SnapshotToolsException>(() => VolumeOperations.Export(_store.Resolve("disk"), null, Path.Combine(_root, "cancelled.img"), false, null, cts.Token));
        Assert.Equal(SnapshotErrorCode.Cancelled, ex.Code);
        Assert.False(File.Exists(Path.Combine(_root, "cancelled.img")));
        Assert.False(File.Exists(Path.Combine(_root, "cancelled.img.partial")));
    }

    [Fact]
    public void Filters_choose_snapshots_and_backups()
    {
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        SnapshotInfo S(int i, string name) => new(Guid.Empty, 1, Guid.NewGuid(), i, name, t0.AddDays(i), 100, null, Array.Empty<ByteRange>());
        var snaps = new[] { S(1, "nightly-1"), S(2, "nightly-2"), S(3, "weekly-1"), S(4, "nightly-3") };
        Assert.Equal(new[] { "nightly-1", "nightly-2", "nightly-3" }, new SnapshotFilter { Names = new[] { "nightly-*" } }.Apply(snaps).Select(s => s.Name));
        Assert.Equal(new[] { "weekly-1", "nightly-3" }, new SnapshotFilter { Newest = 2 }.Apply(snaps).Select(s => s.Name));
        Assert.Equal(new[] { "nightly-2", "weekly-1" }, new SnapshotFilter { CreatedAfter = t0.AddDays(2), CreatedBefore = t0.AddDays(3) }.Apply(snaps).Select(s => s.Name));
        Assert.Equal(new[] { "weekly-1" }, new SnapshotFilter { Names = new[] { snaps[2].Id.ToString() } }.Apply(snaps).Select(s => s.Name));
        Assert.Equal(new[] { "gone" }, new SnapshotFilter { Names = new[] { "nightly-*", "gone", "Weekly-1" } }.Missing(snaps));
    }
}
