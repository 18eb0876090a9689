using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Seed 001 (Ohran) Figures 7A/7B and 8A/8B ([0080]-[0116]), block by block: blocks 1-6, block 3 marked in the
/// protection map as not worth keeping. 7A/7B (<see cref="ProtectionMode.PreserveAndFilter"/>) preserve block 3 like
/// any other but never serve or send it; 8A/8B (<see cref="ProtectionMode.DoNotPreserve"/>) do not preserve it at all.
/// </summary>
/// <remarks>
/// Mapping: seed block n is chunk n - 1 (4 KiB). The seed's "backup map" at time Tk (blocks changed since the previous
/// backup) is the delta between our snapshots at T(k-1) and Tk, so the backup at T0 is an explicit snapshot "T0" (the
/// copy of Figure 7B starts as its full delta). The seed has no snapshot before T1, so its writes 3a/4a and 3b/4b/6a go
/// straight to disk; ours land after snapshot T0 and fill T0's store. The seed's snapshot storage after T1 is the store
/// of our snapshot "T1" (sequence 2). The engine writes a kind-only "excluded" record where 8A skips step 86, so the
/// index still names the chunk as changed; no data of it is kept. Stores are listed in record order, by seed block.
/// </remarks>
public class Seed001ProtectionTests
{
    private static readonly ByteRange Block3 = new(2 * C, C);

    private static void WriteBlock(Volume v, int block, string label) => v.Write((block - 1) * C, Label(label));

    private sealed class Run
    {
        public required MemoryStorage Storage { get; init; }
        public required Volume Volume { get; init; }
        public string T0StoreAtT1 = "";
        public string T1StoreAfterFirstWrites = "";
        public string BackupMapT1 = "";
        public byte[] CopyAtT1 = Array.Empty<byte>();
        public byte[] CopyAtT2 = Array.Empty<byte>();
    }

    /// <summary>Plays Figure 7A (or 8A) from T0 to T2, shipping each backup to a copy (Figure 7B / 8B).</summary>
    private static Run Play(ProtectionMode mode)
    {
        var storage = new MemoryStorage();
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 6 * C, ChunkSize = C, ProtectionMode = mode });
        var run = new Run { Storage = storage, Volume = v };
        for (int b = 1; b <= 6; b++)
        {
            WriteBlock(v, b, b.ToString());
        }
        // [0081] protection map location 3 marked: block 3 not protected.
        v.SetProtectedRanges(new[] { Block3 });
        v.CreateSnapshot("T0");
        // Figure 7B at T0: the copy holds blocks 1, 2, 4-6; block 3 "does not necessarily exist" (here: zeros).
        byte[] copy = Apply(Array.Empty<byte>(), v.GetDelta(null, "T0"));

        // [0083]-[0086] blocks 130 (3a, 4a), then blocks 136 (3b, 4b, 6a).
        v.Write(2 * C, Label("3a").Concat(Label("4a")).ToArray());
        v.Write(2 * C, Label("3b").Concat(Label("4b")).ToArray());
        WriteBlock(v, 6, "6a");
        // [0087]-[0088] a logically consistent state: snapshot at T1.
        v.CreateSnapshot("T1");
        run.T0StoreAtT1 = Store(storage, 1, firstBlock: 1);

        // [0089]-[0091] blocks 144 (1a, 3c): blocks 1 and 3 are preserved first (8A: block 3 is not, [0107]).
        v.Write(0, Label("1a"));
        WriteBlock(v, 3, "3c");
        run.T1StoreAfterFirstWrites = Store(storage, 2, firstBlock: 1);

        // [0092]-[0094] the backup of T1: backup map {3, 4, 6}, block 3 filtered out; 4b and 6a come from the disk.
        VolumeDelta backup1 = v.GetDelta("T0", "T1");
        run.BackupMapT1 = DescribeDelta(backup1, firstBlock: 1);
        copy = Apply(copy, backup1);
        run.CopyAtT1 = copy;

        // [0095]-[0096] blocks 156 (1b, 4c, 6b): 4b and 6a are preserved; block 1 already is, so 1a is lost.
        WriteBlock(v, 1, "1b");
        WriteBlock(v, 4, "4c");
        WriteBlock(v, 6, "6b");
        // [0101]-[0103] snapshot at T2 and its backup: blocks 1, 4, 6 (block 3 again filtered out).
        v.CreateSnapshot("T2");
        copy = Apply(copy, v.GetDelta("T1", "T2"));
        run.CopyAtT2 = copy;
        return run;
    }

    [Fact]
    public void Figure7A_PreserveThenFilter_StoreHoldsBlock3ButNeverServesIt()
    {
        Run run = Play(ProtectionMode.PreserveAndFilter);
        using Volume v = run.Volume;
        // Our T0 store (the seed has none): first writes after T0 to blocks 3, 4 and 6, block 3 included.
        Assert.Equal("3:3 4:4 6:6", run.T0StoreAtT1);
        // [0090] storage locations 146 and 148: block 1 and block 3b, both preserved (no decision block 85).
        Assert.Equal("1:1 3:3b", run.T1StoreAfterFirstWrites);
        // [0095]-[0096] then 4b and 6a join them; 1a was never preserved.
        Assert.Equal("1:1 3:3b 4:4b 6:6a", Store(run.Storage, 2, firstBlock: 1));
        Assert.Equal(4, Records(run.Storage, 2).Count(r => r.Kind == PreservedKind.Data));
        Assert.False(AnyStoreHolds(run.Storage, Label("1a")), "1a is lost ([0096])");
        Assert.True(AnyStoreHolds(run.Storage, Label("3b")), "7A keeps block 3 in the preservation store");

        AssertWhatIsServedAndSent(run);
    }

    [Fact]
    public void Figure8A_DoNotPreserve_Block3NeverReachesTheStore()
    {
        Run run = Play(ProtectionMode.DoNotPreserve);
        using Volume v = run.Volume;
        Assert.Equal("3:excluded 4:4 6:6", run.T0StoreAtT1);
        // [0107] only block 1 is copied to snapshot storage (146); block 3b is not.
        Assert.Equal("1:1 3:excluded", run.T1StoreAfterFirstWrites);
        // [0112]-[0113] then 4b and 6a; 1a is lost.
        Assert.Equal("1:1 3:excluded 4:4b 6:6a", Store(run.Storage, 2, firstBlock: 1));
        Assert.Equal(3, Records(run.Storage, 2).Count(r => r.Kind == PreservedKind.Data));
        Assert.DoesNotContain(Records(run.Storage, 1).Concat(Records(run.Storage, 2)).Concat(Records(run.Storage, 3)),
            r => r.Chunk == 2 && r.Kind == PreservedKind.Data);
        foreach (string label in new[] { "3", "3a", "3b", "3c" })
        {
            Assert.False(AnyStoreHolds(run.Storage, Label(label)), $"block 3 content {label} was preserved in 8A mode");
        }
        Assert.False(AnyStoreHolds(run.Storage, Label("1a")), "1a is lost ([0113])");
        // Saving preservation space is the point of 8A: one data chunk fewer in each store that saw block 3 change.
        Assert.Equal(2, Records(run.Storage, 1).Count(r => r.Kind == PreservedKind.Data));

        AssertWhatIsServedAndSent(run);
    }

    /// <summary>What both figures agree on: snapshot reads, backups (7B/8B), and block 3 never in a delta.</summary>
    private static void AssertWhatIsServedAndSent(Run run)
    {
        Volume v = run.Volume;
        // [0093]-[0094] / [0110]-[0111] data blocks 153: 4b and 6a, read from the disk; block 3 not returned.
        Assert.Equal("4:4b 6:6a", run.BackupMapT1);
        // [0101]-[0103] / [0114]-[0116] data blocks 166: 1b, 4c, 6b; 3c is not read.
        Assert.Equal("1:1b 4:4c 6:6b", DescribeDelta(v.GetDelta("T1", "T2"), firstBlock: 1));

        // Snapshot reads: protected block 3 reads as zeros in every snapshot; everything else exactly.
        Assert.Equal("1 2 0 4 5 6", Image(v, "T0"));
        Assert.Equal("1 2 0 4b 5 6a", Image(v, "T1"));
        Assert.Equal("1b 2 0 4c 5 6b", Image(v, "T2"));
        // The live volume is not filtered: block 3 holds what was written.
        Assert.Equal("1b 2 3c 4c 5 6b", Image(v, null));

        // Figure 7B / 8B: storage locations 154 equal 138 (T1) and 168 equal 158 (T2), except block 3.
        Assert.Equal("1 2 0 4b 5 6a", Describe(run.CopyAtT1));
        Assert.Equal("1b 2 0 4c 5 6b", Describe(run.CopyAtT2));

        // The excluded block is in no delta, whatever the pair, including full ones and deltas to the live volume.
        string?[] points = { null, "T0", "T1", "T2" };
        for (int l = 0; l < points.Length; l++)
        {
            for (int m = l + 1; m <= points.Length; m++)
            {
                string? to = m == points.Length ? null : points[m];
                VolumeDelta d = v.GetDelta(points[l], to);
                foreach (DeltaExtent e in CheckOrdered(d))
                {
                    Assert.False(e.Offset < Block3.End && e.End > Block3.Offset, $"delta({points[l] ?? "full"},{to ?? "live"}) reports {e}, inside excluded block 3");
                }
            }
        }

        // And after a reopen, from the files alone.
        v.Dispose();
        using Volume reopened = Volume.Open(run.Storage);
        Assert.Equal("1 2 0 4b 5 6a", Image(reopened, "T1"));
        Assert.Equal("1:1b 4:4c 6:6b", DescribeDelta(reopened.GetDelta("T1", "T2"), firstBlock: 1));
        Assert.Equal("4:4b 6:6a", DescribeDelta(reopened.GetDelta("T0", "T1"), firstBlock: 1));
    }

    [Fact]
    public void DoNotPreserve_StillPreservesForAnOlderSnapshotThatDidNotExcludeTheBlock()
    {
        // Existing snapshots keep the map they were taken with. Block 3 is excluded from "new" but not from "old", and
        // "old" reads through "new"'s store: skipping the copy-on-write would lose old's block 3.
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 6 * C, ChunkSize = C, ProtectionMode = ProtectionMode.DoNotPreserve });
        for (int b = 1; b <= 6; b++)
        {
            WriteBlock(v, b, b.ToString());
        }
        v.CreateSnapshot("old");
        v.SetProtectedRanges(new[] { Block3 });
        v.CreateSnapshot("new");
        WriteBlock(v, 3, "3a");
        Assert.Equal("3:3", Store(storage, 2, firstBlock: 1));
        Assert.Equal("1 2 3 4 5 6", Image(v, "old"));
        Assert.Equal("1 2 0 4 5 6", Image(v, "new"));
        Assert.Equal("", DescribeDelta(v.GetDelta("old", "new"), firstBlock: 1));
        Assert.Equal("", DescribeDelta(v.GetDelta("new", null), firstBlock: 1));
        // Once "old" is gone, every remaining snapshot excludes block 3 and its next change is not preserved.
        v.DeleteSnapshot("old");
        v.CreateSnapshot("newer");
        WriteBlock(v, 3, "3b");
        Assert.Equal("3:excluded", Store(storage, 3, firstBlock: 1));
        Assert.Equal("1 2 0 4 5 6", Image(v, "new"));
        Assert.Equal("1 2 0 4 5 6", Image(v, "newer"));
    }

    [Theory]
    [InlineData(ProtectionMode.PreserveAndFilter)]
    [InlineData(ProtectionMode.DoNotPreserve)]
    public void APartlyExcludedChunkIsPreservedWholeAndClippedOnReadOut(ProtectionMode mode)
    {
        // Only whole chunks can go unpreserved; a range covering part of a chunk is filtered on read-out in both modes.
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 4 * C, ChunkSize = C, ProtectionMode = mode });
        v.Write(0, Label("a").Concat(Label("b")).Concat(Label("c")).Concat(Label("d")).ToArray());
        var excluded = new ByteRange(C + 100, C + 200); // the end of chunk 1 and the start of chunk 2
        v.SetProtectedRanges(new[] { excluded });
        v.CreateSnapshot("s1");
        v.Write(C, Label("b1").Concat(Label("c1")).ToArray());
        Assert.Equal("1:b 2:c", Store(storage, 1));
        byte[] s1 = ReadAll(v, "s1");
        byte[] expected = Label("a").Concat(Label("b")).Concat(Label("c")).Concat(Label("d")).ToArray();
        expected.AsSpan((int)excluded.Offset, (int)excluded.Length).Clear();
        Assert.Equal(expected, s1);
        Assert.Equal(
            new[] { new DeltaExtent(C, 100, ExtentKind.Data), new DeltaExtent(excluded.End, 3 * C - excluded.End, ExtentKind.Data) },
            v.GetDelta("s1", null).ToArray());
    }
}
