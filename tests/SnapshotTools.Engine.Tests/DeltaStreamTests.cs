using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Delta streams: export, import, identity checks, integrity, resume.</summary>
public class DeltaStreamTests
{
    private const int C = 4096;

    private static byte[] Snapshot(Volume v, string name)
    {
        SnapshotInfo s = v.GetSnapshot(name);
        byte[] b = new byte[s.Size];
        v.ReadSnapshot(name, 0, b);
        return b;
    }

    private static byte[] Live(Volume v)
    {
        byte[] b = new byte[v.Size];
        v.Read(0, b);
        return b;
    }

    private static byte[] Export(Volume v, string? from, string to, DeltaStreamOptions? options = null)
    {
        using var ms = new MemoryStream();
        DeltaStreamWriter.Write(v.GetDelta(from, to), ms, options);
        return ms.ToArray();
    }

    private static Volume Source(out Random rng, int seed = 1)
    {
        rng = new Random(seed);
        var v = Volume.Create(new MemoryStorage("source"), new VolumeCreateOptions { Size = 40 * C + 123, ChunkSize = C });
        byte[] data = new byte[10 * C];
        rng.NextBytes(data);
        v.Write(0, data);
        v.WriteZeroes(12 * C, 2 * C);
        v.CreateSnapshot("s1", "first");
        return v;
    }

    private static void Mutate(Volume v, Random rng)
    {
        for (int i = 0; i < 6; i++)
        {
            byte[] d = new byte[rng.Next(1, 3 * C)];
            rng.NextBytes(d);
            v.Write(rng.Next(0, (int)(v.Size - d.Length)), d);
        }
        v.Discard(rng.Next(0, 20) * C, C);
    }

    [Theory]
    [InlineData(StreamCompression.None)]
    [InlineData(StreamCompression.Deflate)]
    [InlineData(StreamCompression.Brotli)]
    public void FullPlusIncrementalsRestoreEverySnapshotExactly(StreamCompression compression)
    {
        using Volume src = Source(out Random rng);
        var options = new DeltaStreamOptions { Compression = compression };
        var target = new MemoryStorage("target");
        using Volume dst = Volume.Create(target, new VolumeCreateOptions { Size = C, ChunkSize = C });
        ImportResult first = DeltaImporter.Import(dst, new MemoryStream(Export(src, null, "s1", options)));
        Assert.Equal("s1", first.Snapshot.Name);
        Assert.Equal(src.GetSnapshot("s1").Id, first.Snapshot.Id);
        Assert.Equal(src.VolumeId, dst.VolumeId);
        Assert.Equal(Snapshot(src, "s1"), Snapshot(dst, "s1"));
        string previous = "s1";
        for (int i = 2; i <= 5; i++)
        {
            Mutate(src, rng);
            if (i == 4)
            {
                src.Resize(src.Size + 3 * C + 7);
            }
            if (i == 5)
            {
                src.Resize(30 * C + 1);
            }
            string name = "s" + i;
            src.CreateSnapshot(name);
            DeltaImporter.Import(dst, new MemoryStream(Export(src, previous, name, options)));
            Assert.Equal(Snapshot(src, name), Snapshot(dst, name));
            Assert.Equal(Snapshot(src, name), Live(dst));
            previous = name;
        }
        foreach (SnapshotInfo s in src.Snapshots)
        {
            Assert.Equal(Snapshot(src, s.Name), Snapshot(dst, s.Name));
        }
    }

    [Fact]
    public void ImportNewCreatesAVolumeOfTheSameLineage()
    {
        using Volume src = Source(out _);
        string dir = Path.Combine(Path.GetTempPath(), "st-import-" + Guid.NewGuid().ToString("N"));
        try
        {
            ImportResult r = DeltaImporter.ImportNew(dir, new MemoryStream(Export(src, null, "s1")));
            using Volume dst = Volume.Open(dir);
            Assert.Equal(src.VolumeId, dst.VolumeId);
            Assert.Equal(src.Generation, dst.Generation);
            Assert.Equal(Snapshot(src, "s1"), Snapshot(dst, "s1"));
            Assert.False(File.Exists(Path.Combine(dir, "import.journal")));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Fact]
    public void EncryptedStreamNeedsTheRightKey()
    {
        using Volume src = Source(out _);
        byte[] key = StreamKey.Generate();
        byte[] stream = Export(src, null, "s1", new DeltaStreamOptions { Key = key });
        using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        Assert.Equal(SnapshotErrorCode.KeyRequired, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(stream))).Code);
        Assert.Equal(SnapshotErrorCode.WrongKey, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(stream), new ImportOptions { Key = StreamKey.Generate() })).Code);
        Assert.Empty(dst.Snapshots);
        DeltaImporter.Import(dst, new MemoryStream(stream), new ImportOptions { Key = key });
        Assert.Equal(Snapshot(src, "s1"), Snapshot(dst, "s1"));
        // The plaintext does not appear in the stream.
        byte[] secret = Snapshot(src, "s1").AsSpan(0, 64).ToArray();
        Assert.True(stream.AsSpan().IndexOf(secret) < 0);
    }

    [Fact]
    public void IncrementalIsRefusedOnWrongBaseModifiedTargetForeignVolumeAndDuplicate()
    {
        using Volume src = Source(out Random rng);
        byte[] full = Export(src, null, "s1");
        Mutate(src, rng);
        src.CreateSnapshot("s2");
        byte[] inc12 = Export(src, "s1", "s2");
        Mutate(src, rng);
        src.CreateSnapshot("s3");
        byte[] inc23 = Export(src, "s2", "s3");

        using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        Assert.Equal(SnapshotErrorCode.ForeignVolume, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc12))).Code);
        DeltaImporter.Import(dst, new MemoryStream(full));
        var wrongBase = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc23)));
        Assert.Equal(SnapshotErrorCode.WrongBase, wrongBase.Code);
        Assert.Contains("s2", wrongBase.Message);
        DeltaImporter.Import(dst, new MemoryStream(inc12));
        Assert.Equal(SnapshotErrorCode.DuplicateImport, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc12))).Code);

        dst.Write(5 * C, new byte[] { 1, 2, 3 });
        byte[] before = Live(dst);
        Assert.Equal(SnapshotErrorCode.TargetModified, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc23))).Code);
        Assert.Equal(before, Live(dst));
        DeltaImporter.Import(dst, new MemoryStream(inc23), new ImportOptions { Force = true });
        Assert.Equal(Snapshot(src, "s3"), Live(dst));
    }

    [Fact]
    public void ForceRollsBackToTheBaseDeletingYoungerSnapshots()
    {
        using Volume src = Source(out Random rng);
        byte[] full = Export(src, null, "s1");
        Mutate(src, rng);
        src.CreateSnapshot("s2");
        byte[] inc12 = Export(src, "s1", "s2");
        using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        DeltaImporter.Import(dst, new MemoryStream(full));
        dst.Write(0, new byte[100]);
        dst.CreateSnapshot("local");
        Assert.Equal(SnapshotErrorCode.WrongBase, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc12))).Code);
        DeltaImporter.Import(dst, new MemoryStream(inc12), new ImportOptions { Force = true });
        Assert.Equal(new[] { "s1", "s2" }, dst.Snapshots.Select(s => s.Name));
        Assert.Equal(Snapshot(src, "s2"), Live(dst));
    }

    [Fact]
    public void EveryFlippedByteAndEveryTruncationIsRefusedAndLeavesTheTargetUnchanged()
    {
        using Volume src = Source(out Random rng);
        byte[] full = Export(src, null, "s1");
        Mutate(src, rng);
        src.CreateSnapshot("s2");
        byte[] inc = Export(src, "s1", "s2", new DeltaStreamOptions { RecordDataSize = 8192 });
        var storage = new MemoryStorage();
        using Volume dst = Volume.Create(storage, new VolumeCreateOptions { Size = C, ChunkSize = C });
        DeltaImporter.Import(dst, new MemoryStream(full));
        byte[] before = Live(dst);
        int step = Math.Max(1, inc.Length / 300);
        for (int i = 0; i < inc.Length; i += step)
        {
            byte[] bad = (byte[])inc.Clone();
            bad[i] ^= 0x40;
            var ex = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(bad)));
            Assert.True(ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.UnsupportedFormat, $"byte {i}: {ex.Code} {ex.Message}");
            Assert.Single(dst.Snapshots);
        }
        for (int cut = 0; cut < inc.Length; cut += step)
        {
            var ex = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc, 0, cut)));
            Assert.True(ex.Code is SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.CorruptStream, $"cut {cut}: {ex.Code}");
        }
        Assert.Equal(before, Live(dst));
        Assert.Single(dst.Snapshots);
        DeltaImporter.Import(dst, new MemoryStream(inc));
        Assert.Equal(Snapshot(src, "s2"), Live(dst));
    }

    [Fact]
    public void InterruptedImportResumesFromTheLastCheckpoint()
    {
        using Volume src = Source(out Random rng);
        byte[] full = Export(src, null, "s1");
        byte[] big = new byte[20 * C];
        rng.NextBytes(big);
        src.Write(0, big);
        src.CreateSnapshot("s2");
        byte[] inc = Export(src, "s1", "s2", new DeltaStreamOptions { RecordDataSize = 4096, Compression = StreamCompression.None });
        using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        DeltaImporter.Import(dst, new MemoryStream(full));
        var options = new ImportOptions { CheckpointBytes = 4 * C };
        Assert.Equal(SnapshotErrorCode.TruncatedStream,
            Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc, 0, inc.Length * 2 / 3), options)).Code);
        Assert.Equal(Snapshot(src, "s1"), Live(dst));
        ImportResult r = DeltaImporter.Import(dst, new MemoryStream(inc), options);
        Assert.True(r.ResumedAtRecord > 1, "resumed");
        Assert.Equal(Snapshot(src, "s2"), Live(dst));
        Assert.Equal(Snapshot(src, "s2"), Snapshot(dst, "s2"));
    }

    [Fact]
    public void CrashAfterCommitCompletesTheImportAtOpen()
    {
        using Volume src = Source(out Random rng);
        byte[] full = Export(src, null, "s1");
        Mutate(src, rng);
        src.CreateSnapshot("s2");
        byte[] inc = Export(src, "s1", "s2");
        var inner = new MemoryStorage();
        var fault = new FaultInjectingStorage(inner);
        using (Volume dst = Volume.Create(fault, new VolumeCreateOptions { Size = C, ChunkSize = C }))
        {
            DeltaImporter.Import(dst, new MemoryStream(full));
        }
        // Count the operations of a successful import, then crash at each point of it.
        long start;
        long end;
        {
            var probeInner = inner.CrashImage(new Random(0));
            var probe = new FaultInjectingStorage(probeInner);
            using Volume v = Volume.Open(probe);
            start = probe.Operations;
            DeltaImporter.Import(v, new MemoryStream(inc));
            end = probe.Operations;
        }
        for (long n = start + 1; n <= end; n += Math.Max(1, (end - start) / 40))
        {
            var image = inner.CrashImage(new Random(1));
            var crashing = new FaultInjectingStorage(image) { CrashAtOperation = n };
            try
            {
                using Volume v = Volume.Open(crashing);
                DeltaImporter.Import(v, new MemoryStream(inc));
            }
            catch (SimulatedCrashException)
            {
            }
            using Volume after = Volume.Open(image.CrashImage(new Random((int)n)));
            if (after.TryGetSnapshot("s2") != null)
            {
                Assert.Equal(Snapshot(src, "s2"), Snapshot(after, "s2"));
                Assert.Equal(Snapshot(src, "s2"), Live(after));
            }
            else
            {
                Assert.Equal(Snapshot(src, "s1"), Snapshot(after, "s1"));
                DeltaImporter.Import(after, new MemoryStream(inc));
                Assert.Equal(Snapshot(src, "s2"), Live(after));
            }
        }
    }
}
