using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Seed 000 (EMC, tracking re-sizing and re-creation): a change map carries the volume's record id (our generation)
/// and length (our size). A resize is tracked (grown chunks count as changed; each snapshot keeps its size and bytes);
/// a re-created volume (same id, next generation) refuses a differential from an old-generation snapshot, or reports
/// it as a full copy when allowed; a snapshot of another volume is refused.
/// </summary>
public class Seed000IdentityTests
{
    private static Volume Filled(MemoryStorage storage, long size, string prefix = "b")
    {
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = size, ChunkSize = C });
        for (long off = 0, i = 0; off < size; off += C, i++)
        {
            v.Write(off, Label(prefix + i).AsSpan(0, (int)Math.Min(C, size - off)));
        }
        return v;
    }

    [Fact]
    public void GrowingPutsTheGrownChunksInTheDelta()
    {
        using Volume v = Filled(new MemoryStorage(), 4 * C);
        SnapshotInfo s1 = v.CreateSnapshot("s1");
        v.Resize(8 * C);
        v.Write(6 * C, Label("new6"));
        v.CreateSnapshot("s2");
        // Grown space is not in use until written: chunks 4, 5 and 7 are reported (as unmapped), chunk 6 as data.
        VolumeDelta d = v.GetDelta("s1", "s2");
        Assert.Equal(4 * C, d.FromSize);
        Assert.Equal(8 * C, d.ToSize);
        Assert.Equal("4:unmapped 5:unmapped 6:new6 7:unmapped", DescribeDelta(d));
        Assert.Equal("4:unmapped 5:unmapped 6:new6 7:unmapped", DescribeDelta(v.GetDelta("s1", null)));
        Assert.Equal(4 * C, v.GetSnapshot("s1").Size);
        Assert.Equal(s1, v.GetSnapshot("s1"));
        Assert.Equal("b0 b1 b2 b3", Image(v, "s1"));
        Assert.Equal("b0 b1 b2 b3 0 0 new6 0", Image(v, "s2"));
        Assert.True(ReadAll(v, "s2").AsSpan().SequenceEqual(Apply(ReadAll(v, "s1"), d)));
    }

    [Fact]
    public void GrowingFromAPartialLastChunkReportsThatChunkToo()
    {
        using Volume v = Filled(new MemoryStorage(), 3 * C + 100);
        v.CreateSnapshot("s1");
        v.Resize(5 * C);
        v.CreateSnapshot("s2");
        // The old last chunk held 100 bytes and now holds 4096 (the rest zeros): it changed, as data.
        VolumeDelta d = v.GetDelta("s1", "s2");
        Assert.Equal(new[] { new DeltaExtent(3 * C, C, ExtentKind.Data), new DeltaExtent(4 * C, C, ExtentKind.Unmapped) }, d.ToArray());
        byte[] s2 = ReadAll(v, "s2");
        Assert.True(s2.AsSpan(3 * C, 100).SequenceEqual(Label("b3").AsSpan(0, 100)));
        Assert.True(s2.AsSpan(3 * C + 100).IndexOfAnyExcept((byte)0) < 0, "grown space reads as zeros");
        Assert.True(s2.AsSpan().SequenceEqual(Apply(ReadAll(v, "s1"), d)));
        Assert.Equal(3 * C + 100, ReadAll(v, "s1").Length);
    }

    [Fact]
    public void ShrinkingKeepsEverySnapshotsSizeAndBytes()
    {
        using Volume v = Filled(new MemoryStorage(), 8 * C);
        v.CreateSnapshot("s1");
        v.Write(6 * C, Label("x6"));
        v.CreateSnapshot("s2");
        v.Resize(3 * C + 100);
        Assert.Equal(3 * C + 100, v.Size);
        Assert.Equal(8 * C, v.GetSnapshot("s1").Size);
        Assert.Equal(8 * C, v.GetSnapshot("s2").Size);
        Assert.Equal("b0 b1 b2 b3 b4 b5 b6 b7", Image(v, "s1"));
        Assert.Equal("b0 b1 b2 b3 b4 b5 x6 b7", Image(v, "s2"));
        v.CreateSnapshot("s3");
        // The partial last chunk changed size: it is in the delta (100 bytes of data); nothing past the new end is.
        VolumeDelta d = v.GetDelta("s2", "s3");
        Assert.Equal(8 * C, d.FromSize);
        Assert.Equal(3 * C + 100, d.ToSize);
        Assert.Equal(new[] { new DeltaExtent(3 * C, 100, ExtentKind.Data) }, d.ToArray());
        Assert.True(ReadAll(v, "s3").AsSpan().SequenceEqual(Apply(ReadAll(v, "s2"), d)));

        // Growing back exposes zeros, not the old bytes; the snapshots still read exactly.
        v.Resize(8 * C);
        byte[] live = ReadAll(v, null);
        Assert.True(live.AsSpan(3 * C, 100).SequenceEqual(Label("b3").AsSpan(0, 100)));
        Assert.True(live.AsSpan(3 * C + 100).IndexOfAnyExcept((byte)0) < 0, "space regained after a shrink reads as zeros");
        Assert.Equal("b0 b1 b2 b3 b4 b5 b6 b7", Image(v, "s1"));
        Assert.Equal("b0 b1 b2 b3 b4 b5 x6 b7", Image(v, "s2"));
        Assert.Equal(3 * C + 100, ReadAll(v, "s3").Length);
        Assert.True(ReadAll(v, null).AsSpan().SequenceEqual(Apply(ReadAll(v, "s1"), v.GetDelta("s1", null))));
    }

    [Fact]
    public void ResizedVolumeSnapshotsSurviveReopen()
    {
        var storage = new MemoryStorage();
        using (Volume v = Filled(storage, 8 * C))
        {
            v.CreateSnapshot("s1");
            v.Resize(2 * C);
            v.CreateSnapshot("s2");
            v.Resize(6 * C);
            v.Write(5 * C, Label("n5"));
        }
        using (Volume v = Volume.Open(storage))
        {
            Assert.Equal(6 * C, v.Size);
            Assert.Equal("b0 b1 b2 b3 b4 b5 b6 b7", Image(v, "s1"));
            Assert.Equal("b0 b1", Image(v, "s2"));
            Assert.Equal("b0 b1 0 0 0 n5", Image(v, null));
            Assert.Equal("2:unmapped 3:unmapped 4:unmapped 5:n5", DescribeDelta(v.GetDelta("s2", null)));
        }
    }

    [Theory]
    [InlineData("s1")]
    [InlineData("s2")]
    [InlineData("s3")]
    public void DeletingSnapshotsAcrossResizesKeepsEveryOtherSizeAndBytes(string victim)
    {
        var storage = new MemoryStorage();
        var images = new Dictionary<string, byte[]>();
        using (Volume v = Filled(storage, 8 * C))
        {
            v.CreateSnapshot("s1");
            images["s1"] = ReadAll(v, null);
            v.Write(1 * C, Label("x1"));
            v.CreateSnapshot("s2");
            images["s2"] = ReadAll(v, null);
            v.Resize(3 * C + 100);
            v.Write(0, Label("x0"));
            v.CreateSnapshot("s3");
            images["s3"] = ReadAll(v, null);
            v.Resize(8 * C);
            v.Write(6 * C, Label("x6"));
            v.DeleteSnapshot(victim);
            images.Remove(victim);
            foreach ((string name, byte[] image) in images)
            {
                Assert.Equal(image.Length, v.GetSnapshot(name).Size);
                Assert.True(image.AsSpan().SequenceEqual(ReadAll(v, name)), $"{name} after deleting {victim}: {Describe(ReadAll(v, name))}");
            }
            string[] names = images.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();
            Assert.True(ReadAll(v, names[1]).AsSpan().SequenceEqual(Apply(ReadAll(v, names[0]), v.GetDelta(names[0], names[1]))));
            Assert.True(ReadAll(v, null).AsSpan().SequenceEqual(Apply(ReadAll(v, names[0]), v.GetDelta(names[0], null))));
        }
        using (Volume v = Volume.Open(storage))
        {
            foreach ((string name, byte[] image) in images)
            {
                Assert.True(image.AsSpan().SequenceEqual(ReadAll(v, name)), $"{name} after reopen");
            }
        }
    }

    [Fact]
    public void ASnapshotInfoWithAnotherSizeIsASizeMismatch()
    {
        using Volume v = Filled(new MemoryStorage(), 4 * C);
        SnapshotInfo s1 = v.CreateSnapshot("s1");
        SnapshotInfo wrong = s1 with { Size = 5 * C };
        Throws(SnapshotErrorCode.SizeMismatch, () => v.GetDelta(wrong, null));
        Throws(SnapshotErrorCode.SizeMismatch, () => v.ReadSnapshot(wrong, 0, new byte[C]));
    }

    [Fact]
    public void RecreateKeepsTheVolumeIdAndBumpsTheGeneration()
    {
        var storage = new MemoryStorage();
        Guid id;
        SnapshotInfo oldS1;
        using (Volume v = Filled(storage, 4 * C, "old"))
        {
            id = v.VolumeId;
            Assert.Equal(1, v.Generation);
            oldS1 = v.CreateSnapshot("s1");
            v.Write(0, Label("old-live"));
        }
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 6 * C, ChunkSize = C, Recreate = true }))
        {
            Assert.Equal(id, v.VolumeId);
            Assert.Equal(2, v.Generation);
            Assert.Equal(new VolumeIdentity(id, 2, 6 * C, C), v.Identity);
            Assert.Empty(v.Snapshots);
            Assert.Equal("0 0 0 0 0 0", Image(v, null));
            Assert.Equal("UUUUUU", InUse(v, null));
            Assert.DoesNotContain(storage.List(), f => f.StartsWith("snap-", StringComparison.Ordinal));
            v.Write(C, Label("new1"));
            SnapshotInfo newS1 = v.CreateSnapshot("s1");
            Assert.Equal(2, newS1.Generation);
            Assert.NotEqual(oldS1.Id, newS1.Id);

            // The old incarnation's snapshot is refused, with the generations named...
            SnapshotToolsException ex = Throws(SnapshotErrorCode.GenerationMismatch, () => v.GetDelta(oldS1, null));
            Assert.Contains("generation 1", ex.Message);
            Assert.Contains("generation 2", ex.Message);
            Throws(SnapshotErrorCode.GenerationMismatch, () => v.GetDelta(oldS1, newS1));
            Throws(SnapshotErrorCode.GenerationMismatch, () => v.ReadSnapshot(oldS1, 0, new byte[C]));
            // ...or, when allowed, answered with a full copy that says why.
            VolumeDelta full = v.GetDelta(oldS1, newS1, new DeltaOptions { AllowFull = true });
            Assert.True(full.IsFull);
            Assert.Null(full.From);
            Assert.NotNull(full.FullReason);
            Assert.Contains("generation", full.FullReason);
            Assert.Equal(2, full.Generation);
            Assert.Equal(6 * C, full.ToSize);
            Assert.Equal("0:unmapped 1:new1 2:unmapped 3:unmapped 4:unmapped 5:unmapped", DescribeDelta(full));
            Assert.True(ReadAll(v, "s1").AsSpan().SequenceEqual(Apply(new byte[4 * C], full)));
            VolumeDelta fullLive = v.GetDelta(oldS1, null, new DeltaOptions { AllowFull = true });
            Assert.True(fullLive.IsFull);
            Assert.Equal(6, fullLive.ChangedChunks);
            // An ordinary full delta (no base) is full without a reason: nothing was refused.
            VolumeDelta plain = v.GetDelta(null, newS1);
            Assert.True(plain.IsFull);
            Assert.Null(plain.FullReason);
            // The same generation's snapshot works as usual.
            Assert.False(v.GetDelta(newS1, null).IsFull);
        }
        // The generation is durable.
        using (Volume v = Volume.Open(storage))
        {
            Assert.Equal(2, v.Generation);
            Assert.Equal(id, v.VolumeId);
            Throws(SnapshotErrorCode.GenerationMismatch, () => v.GetDelta(oldS1, null));
        }
    }

    [Fact]
    public void RecreateTwiceInAFolderOnDisk()
    {
        using var folder = new TempFolder();
        string dir = folder.Sub("vol");
        SnapshotInfo g1;
        using (Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = 2 * C, ChunkSize = C }))
        {
            v.Write(0, Label("g1"));
            g1 = v.CreateSnapshot("s");
        }
        using (Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = 2 * C, ChunkSize = C, Recreate = true }))
        {
            Assert.Equal(2, v.Generation);
        }
        using (Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = 2 * C, ChunkSize = C, Recreate = true }))
        {
            Assert.Equal(3, v.Generation);
            Assert.Equal(g1.VolumeId, v.VolumeId);
            Assert.Equal("0 0", Image(v, null));
            VolumeDelta d = v.GetDelta(g1, null, new DeltaOptions { AllowFull = true });
            Assert.True(d.IsFull);
            Assert.Contains("generation 1", d.FullReason);
        }
    }

    [Fact]
    public void ASnapshotOfAnotherVolumeIsForeign()
    {
        using Volume a = Filled(new MemoryStorage("a"), 2 * C, "a");
        using Volume b = Filled(new MemoryStorage("b"), 2 * C, "b");
        SnapshotInfo sa = a.CreateSnapshot("s1");
        b.CreateSnapshot("s1");
        Assert.NotEqual(a.VolumeId, b.VolumeId);
        Throws(SnapshotErrorCode.ForeignVolume, () => b.GetDelta(sa, null));
        Throws(SnapshotErrorCode.ForeignVolume, () => b.GetDelta(sa, null, new DeltaOptions { AllowFull = true }));
        Throws(SnapshotErrorCode.ForeignVolume, () => b.GetDelta(b.GetSnapshot("s1"), sa));
        Throws(SnapshotErrorCode.ForeignVolume, () => b.ReadSnapshot(sa, 0, new byte[C]));
        // By name, "s1" is b's own snapshot, which is fine.
        Assert.Equal("b0 b1", Image(b, "s1"));
    }
}
