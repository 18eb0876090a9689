using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Seed 004 (3PAR snapshot tree) as far as a single chain goes: a base volume with a time-ordered chain of read-only
/// snapshots, sparse per-snapshot exception tables (our preservation indexes), and reads that walk from a snapshot
/// toward the base until an exception is found ([0095]-[0096]); in our chain that is "the stores of N, N+1, ...,
/// newest, then the live volume" (seed 002 FIG. 27). Deleting any snapshot keeps every other one exact.
/// </summary>
public class Seed004ChainTests
{
    /// <summary>
    /// Chain S1..S4 over 8 chunks, initial a0..h0. Chunk 0 changes only after S3; chunk 1 never changes; chunk 2
    /// changes after S1 and again after S3; chunk 3 only after S2; chunk 4 after every snapshot; chunk 5 is
    /// discarded after S2; chunk 6 is zeroed after S1 and rewritten after S4. Returns the expected image of each
    /// snapshot, taken from the live volume when the snapshot was created.
    /// </summary>
    private static Dictionary<string, byte[]> Chain(Volume v)
    {
        string[] initial = { "a0", "b0", "c0", "d0", "e0", "f0", "g0", "h0" };
        for (int i = 0; i < 8; i++)
        {
            v.Write(i * C, Label(initial[i]));
        }
        var images = new Dictionary<string, byte[]>();
        void Snap(string name)
        {
            v.CreateSnapshot(name);
            images[name] = ReadAll(v, null);
        }
        Snap("S1");
        v.Write(2 * C, Label("c1"));
        v.Write(4 * C, Label("e1"));
        v.WriteZeroes(6 * C, C);
        Snap("S2");
        v.Write(3 * C, Label("d2"));
        v.Write(4 * C, Label("e2"));
        v.Discard(5 * C, C);
        Snap("S3");
        v.Write(0, Label("a3"));
        v.Write(2 * C, Label("c3"));
        v.Write(4 * C, Label("e3"));
        Snap("S4");
        v.Write(4 * C, Label("e4"));
        v.Write(6 * C, Label("g4"));
        return images;
    }

    private static void AssertAllExact(Volume v, Dictionary<string, byte[]> images)
    {
        var names = v.Snapshots.Select(s => s.Name).ToList();
        foreach (string name in names)
        {
            Assert.True(images[name].AsSpan().SequenceEqual(ReadAll(v, name)), $"snapshot {name}: {Describe(ReadAll(v, name))}, expected {Describe(images[name])}");
        }
        // Every pairwise delta (and to live) rebuilds the newer side from the older one.
        var points = names.Cast<string?>().Append(null).ToList();
        for (int l = 0; l < points.Count - 1; l++)
        {
            for (int m = l + 1; m < points.Count; m++)
            {
                byte[] rebuilt = Apply(ReadAll(v, points[l]), v.GetDelta(points[l], points[m]));
                Assert.True(ReadAll(v, points[m]).AsSpan().SequenceEqual(rebuilt), $"delta({points[l]},{points[m] ?? "live"})");
            }
        }
    }

    [Fact]
    public void ReadOfSnapshotNFallsThroughToNewerStoresThenLive()
    {
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        Dictionary<string, byte[]> images = Chain(v);
        // The exception tables are sparse: each store holds only the chunks first changed in its interval.
        Assert.Equal("2:c0 4:e0 6:g0", Store(storage, 1));
        Assert.Equal("3:d0 4:e1 5:f0", Store(storage, 2));
        Assert.Equal("0:a0 2:c1 4:e2", Store(storage, 3));
        Assert.Equal("4:e3 6:zero", Store(storage, 4));

        var block = new byte[C];
        // Chunk 0 of S1: not in S1's or S2's store; found in S3's.
        v.ReadSnapshot("S1", 0, block);
        Assert.Equal("a0", NameOf(block));
        // Chunk 1: in no store; every snapshot reads it from the live volume.
        foreach (string s in new[] { "S1", "S2", "S3", "S4" })
        {
            v.ReadSnapshot(s, 1 * C, block);
            Assert.Equal("b0", NameOf(block));
        }
        // Chunk 2 of S1: the first store on the walk wins (S1's c0), not S3's c1.
        v.ReadSnapshot("S1", 2 * C, block);
        Assert.Equal("c0", NameOf(block));
        v.ReadSnapshot("S2", 2 * C, block);
        Assert.Equal("c1", NameOf(block));
        // Chunk 3 of S1 falls through to S2's store.
        v.ReadSnapshot("S1", 3 * C, block);
        Assert.Equal("d0", NameOf(block));
        // Chunk 6: zeroed after S1 (S1's store keeps g0), then rewritten after S4 (S4's store keeps "zero").
        v.ReadSnapshot("S2", 6 * C, block);
        Assert.Equal("0", NameOf(block));
        Assert.Equal("DDDDDDZD", InUse(v, "S2"));
        Assert.Equal("DDDDDUZD", InUse(v, "S4"));

        Assert.Equal("a0 b0 c0 d0 e0 f0 g0 h0", Image(v, "S1"));
        Assert.Equal("a0 b0 c1 d0 e1 f0 0 h0", Image(v, "S2"));
        Assert.Equal("a0 b0 c1 d2 e2 0 0 h0", Image(v, "S3"));
        Assert.Equal("a3 b0 c3 d2 e3 0 0 h0", Image(v, "S4"));
        Assert.Equal("a3 b0 c3 d2 e4 0 g4 h0", Image(v, null));
        AssertAllExact(v, images);
    }

    [Theory]
    [InlineData("S1")]
    [InlineData("S2")]
    [InlineData("S3")]
    [InlineData("S4")]
    public void DeletingAnySnapshotKeepsEveryOtherExact(string victim)
    {
        var storage = new MemoryStorage();
        Dictionary<string, byte[]> images;
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            images = Chain(v);
            v.DeleteSnapshot(victim);
            Assert.DoesNotContain(v.Snapshots, s => s.Name == victim);
            Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetSnapshot(victim));
            AssertAllExact(v, images);
            // The chain keeps working: new writes and snapshots after the delete.
            v.Write(1 * C, Label("b5"));
            v.CreateSnapshot("S5");
            images["S5"] = ReadAll(v, null);
            v.Write(1 * C, Label("b6"));
            AssertAllExact(v, images);
        }
        using (Volume v = Volume.Open(storage))
        {
            AssertAllExact(v, images);
        }
    }

    [Fact]
    public void DeletingAMiddleSnapshotMovesWhatTheOlderOneReadThroughIt()
    {
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        Dictionary<string, byte[]> images = Chain(v);
        v.DeleteSnapshot("S2");
        // S1 read chunks 3 (d0) and 5 (f0) through S2's store; they move into S1's. Chunk 4 (e1) does not: S1 has e0.
        Assert.Equal("2:c0 4:e0 6:g0 3:d0 5:f0", Store(storage, 1));
        Assert.False(storage.Exists(PreservationLog.IndexName(2)));
        Assert.False(storage.Exists(PreservationLog.DataName(2)));
        // The interval S1..S3 now carries both intervals' changes.
        Assert.Equal("2:c1 3:d2 4:e2 5:unmapped 6:zero", DescribeDelta(v.GetDelta("S1", "S3")));
        AssertAllExact(v, images);
    }

    [Fact]
    public void DeletingAllButOneInAnyOrderKeepsTheLastExact()
    {
        using Volume v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        Dictionary<string, byte[]> images = Chain(v);
        foreach (string victim in new[] { "S3", "S1", "S4" })
        {
            v.DeleteSnapshot(victim);
            AssertAllExact(v, images);
        }
        Assert.Equal("S2", Assert.Single(v.Snapshots).Name);
        Assert.Equal("a0 b0 c1 d0 e1 f0 0 h0", Image(v, "S2"));
    }
}
