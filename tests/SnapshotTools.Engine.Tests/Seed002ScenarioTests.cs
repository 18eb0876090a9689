using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Seed 002 (002-digest.md section 5): Scenario A (tests A1-A12, the baseline facility of FIGS. 26, 27, 34) and
/// Scenario B (B1-B10, meta bit maps, FIGS. 40, 41), block by block.
/// </summary>
/// <remarks>
/// Mapping onto the engine: a seed block is one 4 KiB chunk, block i at byte i * 4096; the seed's save volume and bit
/// map of snapshot S are S's preservation store and index (<c>snap-SEQ.dat/.idx</c>); the clone is the live volume.
/// "Allocate + write" is a Write, "free" is a Discard; the meta bit map is the in-use map (data / zero / unmapped).
/// diff(L, M) is <see cref="Volume.GetDelta(string?, string?, DeltaOptions?)"/>, whose extents name every chunk of the
/// changed set with its kind as of M: where the seed omits a block that is not in use in M, the engine reports it as
/// an Unmapped extent (never as Data), which a consumer applies as "reads as zeros".
/// </remarks>
public class Seed002ScenarioTests
{
    private static readonly string[] InitialA = { "A0", "B0", "C0", "D0", "E0", "F0", "G0", "H0" };

    /// <summary>Runs Scenario A up to the write of A1 after S4. Sequence numbers: S1 = 1 ... S4 = 4.</summary>
    private static Volume ScenarioA(MemoryStorage storage)
    {
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        for (int i = 0; i < 8; i++)
        {
            v.Write(i * C, Label(InitialA[i]));
        }
        v.CreateSnapshot("S1");
        v.Write(1 * C, Label("B1"));
        v.Write(1 * C, Label("B2"));
        v.Write(3 * C, Label("D1"));
        v.CreateSnapshot("S2");
        v.Write(3 * C, Label("D2"));
        v.Write(5 * C, Label("F1"));
        v.CreateSnapshot("S3");
        v.Write(6 * C, Label("G1"));
        v.CreateSnapshot("S4");
        v.Write(0 * C, Label("A1"));
        return v;
    }

    [Fact]
    public void A_StateMatchesTheDerivedSaveVolumes()
    {
        var storage = new MemoryStorage();
        using Volume v = ScenarioA(storage);
        Assert.Equal("1:B0 3:D0", Store(storage, 1));
        Assert.Equal("3:D1 5:F0", Store(storage, 2));
        Assert.Equal("6:G0", Store(storage, 3));
        Assert.Equal("0:A0", Store(storage, 4));
        Assert.Equal("A1 B2 C0 D2 E0 F1 G1 H0", Image(v, null));
    }

    [Fact]
    public void A1_CopyOnFirstWriteOnly()
    {
        var storage = new MemoryStorage();
        using Volume v = ScenarioA(storage);
        // Two writes to block 1 before S2: exactly one before-image of block 1 in S1's store, and it is B0.
        List<IndexRecord> block1 = Records(storage, 1).Where(r => r.Chunk == 1).ToList();
        Assert.Single(block1);
        Assert.Equal(PreservedKind.Data, block1[0].Kind);
        Assert.Contains("1:B0", Store(storage, 1));
        Assert.False(AnyStoreHolds(storage, Label("B1")), "B1 was never the content at a snapshot, so it is never preserved");
    }

    [Fact]
    public void A2_SnapshotReadsFallThroughToNewerStoresThenLive()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Assert.Equal("A0 B0 C0 D0 E0 F0 G0 H0", Image(v, "S1"));
        Assert.Equal("A0 B2 C0 D1 E0 F0 G0 H0", Image(v, "S2"));
        Assert.Equal("A0 B2 C0 D2 E0 F1 G0 H0", Image(v, "S3"));
        Assert.Equal("A0 B2 C0 D2 E0 F1 G1 H0", Image(v, "S4"));
    }

    [Fact]
    public void A3_DiffS1S2()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Assert.Equal("1:B2 3:D1", DescribeDelta(v.GetDelta("S1", "S2")));
    }

    [Fact]
    public void A4_DiffS1S3_BlockChangedInTwoIntervalsComesOnceWithItsS3Value()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Assert.Equal("1:B2 3:D2 5:F1", DescribeDelta(v.GetDelta("S1", "S3")));
    }

    [Fact]
    public void A5_DiffS1S4_ExcludesTheWriteAfterS4()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Assert.Equal("1:B2 3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S1", "S4")));
    }

    [Fact]
    public void A6_DiffS2S4AndS3S4()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Assert.Equal("3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S2", "S4")));
        Assert.Equal("6:G1", DescribeDelta(v.GetDelta("S3", "S4")));
        // Not in the seed (its diffs end at a snapshot): the delta from the newest snapshot to the live volume.
        Assert.Equal("0:A1", DescribeDelta(v.GetDelta("S4", null)));
        Assert.Equal("0:A1 1:B2 3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S1", null)));
    }

    [Fact]
    public void A7_EveryDiffIsInStrictlyAscendingOrder()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        string?[] points = { "S1", "S2", "S3", "S4", null };
        for (int l = 0; l < points.Length - 1; l++)
        {
            for (int m = l + 1; m < points.Length; m++)
            {
                CheckOrdered(v.GetDelta(points[l], points[m]));
            }
        }
        CheckOrdered(v.GetDelta(null, "S1"));
    }

    [Fact]
    public void A8_DiffOfASnapshotWithItselfOrReversedIsAnError()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta("S2", "S2"));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta("S3", "S1"));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta(v.GetSnapshot("S2"), v.GetSnapshot("S2")));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta(v.GetSnapshot("S3"), v.GetSnapshot("S1")));
    }

    [Fact]
    public void A9_ImageOfLPlusDiffLMEqualsImageOfM()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        string?[] points = { "S1", "S2", "S3", "S4", null };
        for (int l = 0; l < points.Length - 1; l++)
        {
            for (int m = l + 1; m < points.Length; m++)
            {
                byte[] rebuilt = Apply(ReadAll(v, points[l]), v.GetDelta(points[l], points[m]));
                Assert.True(ReadAll(v, points[m]).AsSpan().SequenceEqual(rebuilt), $"image({points[l]}) + diff({points[l]},{points[m] ?? "live"}) != image({points[m] ?? "live"})");
            }
        }
    }

    [Fact]
    public void A10_RewritingABlockWithItsExistingValueCountsAsChanged()
    {
        using Volume v = ScenarioA(new MemoryStorage());
        v.CreateSnapshot("S5");
        // The engine never compares data: rewriting C0 with C0 is a change (the delta may over-report, never miss).
        v.Write(2 * C, Label("C0"));
        v.CreateSnapshot("S6");
        Assert.Equal("2:C0", DescribeDelta(v.GetDelta("S5", "S6")));
        Assert.Contains("2:C0", DescribeDelta(v.GetDelta("S1", "S6")));
    }

    [Fact]
    public void A11_BlockInSeveralIndexesIsReportedOnce()
    {
        var storage = new MemoryStorage();
        using Volume v = ScenarioA(storage);
        // Block 3 is in the indexes of S1 and S2. The engine unions the indexes into one bitmap instead of the seed's
        // early-exit inner loop; either way block 3 comes out once, with its S4 value.
        Assert.Contains(Records(storage, 1), r => r.Chunk == 3);
        Assert.Contains(Records(storage, 2), r => r.Chunk == 3);
        VolumeDelta d = v.GetDelta("S1", "S4");
        Assert.Equal(1, d.ToList().Count(e => e.Offset <= 3 * C && e.End > 3 * C));
        Assert.Equal(4, d.ChangedChunks);
        Assert.Equal("1:B2 3:D2 5:F1 6:G1", DescribeDelta(d));
    }

    [Fact]
    public void A12_IndexesAreDurable_DiffsAreStillRightAfterCloseAndReopen()
    {
        var storage = new MemoryStorage();
        var before = new Dictionary<string, string>();
        string?[] points = { "S1", "S2", "S3", "S4", null };
        using (Volume v = ScenarioA(storage))
        {
            for (int l = 0; l < points.Length - 1; l++)
            {
                for (int m = l + 1; m < points.Length; m++)
                {
                    before[$"{points[l]}-{points[m]}"] = DescribeDelta(v.GetDelta(points[l], points[m]));
                }
            }
        }
        // Reopen from the files alone: nothing of the first handle's memory survives.
        using (Volume v = Volume.Open(storage))
        {
            Assert.True(v.Recovery.WasCleanShutdown);
            foreach ((string key, string expected) in before)
            {
                string[] pair = key.Split('-');
                Assert.Equal(expected, DescribeDelta(v.GetDelta(pair[0], pair[1].Length == 0 ? null : pair[1])));
            }
            Assert.Equal("1:B2 3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S1", "S4")));
            Assert.Equal("A0 B2 C0 D1 E0 F0 G0 H0", Image(v, "S2"));
        }
    }

    [Fact]
    public void A12_TheTailIndexIsDurableOnceTheNextSnapshotIsCreated()
    {
        // "Evict the cache" without a clean close: take the disk as a power loss right after S4 would leave it (every
        // unflushed write kept, lost or torn at random). CreateSnapshot alone must have made each tail index durable.
        var storage = new MemoryStorage();
        Volume v = ScenarioA(storage);
        try
        {
            for (int seed = 0; seed < 8; seed++)
            {
                using Volume reopened = Volume.Open(storage.CrashImage(new Random(seed)));
                Assert.Equal("1:B2 3:D1", DescribeDelta(reopened.GetDelta("S1", "S2")));
                Assert.Equal("1:B2 3:D2 5:F1", DescribeDelta(reopened.GetDelta("S1", "S3")));
                Assert.Equal("1:B2 3:D2 5:F1 6:G1", DescribeDelta(reopened.GetDelta("S1", "S4")));
                Assert.Equal("3:D2 5:F1 6:G1", DescribeDelta(reopened.GetDelta("S2", "S4")));
                Assert.Equal("6:G1", DescribeDelta(reopened.GetDelta("S3", "S4")));
                Assert.Equal("A0 B0 C0 D0 E0 F0 G0 H0", Image(reopened, "S1"));
                Assert.Equal("A0 B2 C0 D2 E0 F1 G1 H0", Image(reopened, "S4"));
            }
        }
        finally
        {
            v.Dispose();
        }
    }

    [Fact]
    public void A12_DiffsAreStillRightAfterReopeningTheVolumeFolderOnDisk()
    {
        using var folder = new TempFolder();
        string dir = folder.Sub("vol");
        using (Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            for (int i = 0; i < 8; i++)
            {
                v.Write(i * C, Label(InitialA[i]));
            }
            v.CreateSnapshot("S1");
            v.Write(1 * C, Label("B1"));
            v.Write(1 * C, Label("B2"));
            v.Write(3 * C, Label("D1"));
            v.CreateSnapshot("S2");
            v.Write(3 * C, Label("D2"));
            v.Write(5 * C, Label("F1"));
            v.CreateSnapshot("S3");
            v.Write(6 * C, Label("G1"));
            v.CreateSnapshot("S4");
            v.Write(0 * C, Label("A1"));
        }
        using (Volume v = Volume.Open(dir))
        {
            Assert.Equal("1:B2 3:D1", DescribeDelta(v.GetDelta("S1", "S2")));
            Assert.Equal("1:B2 3:D2 5:F1", DescribeDelta(v.GetDelta("S1", "S3")));
            Assert.Equal("1:B2 3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S1", "S4")));
            Assert.Equal("3:D2 5:F1 6:G1", DescribeDelta(v.GetDelta("S2", "S4")));
            Assert.Equal("0:A1", DescribeDelta(v.GetDelta("S4", null)));
            Assert.Equal("A0 B0 C0 D0 E0 F0 G0 H0", Image(v, "S1"));
            Assert.Equal("A1 B2 C0 D2 E0 F1 G1 H0", Image(v, null));
        }
    }

    /// <summary>
    /// Runs Scenario B. Blocks 0-3 written (A0 B0 C0 D0), 4-7 never written (not in use). Sequence numbers S1 = 1,
    /// S2 = 2, S3 = 3.
    /// </summary>
    private static Volume ScenarioB(MemoryStorage storage, Action<string, Volume>? afterStep = null)
    {
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        string[] initial = { "A0", "B0", "C0", "D0" };
        for (int i = 0; i < 4; i++)
        {
            v.Write(i * C, Label(initial[i]));
        }
        v.CreateSnapshot("S1");                         // 1
        afterStep?.Invoke("1", v);
        v.Write(1 * C, Label("B1"));                    // 2
        v.Write(2 * C, Label("C1"));                    // 3
        v.Write(4 * C, Label("X"));                     // 4: allocate 4 and write X
        afterStep?.Invoke("4", v);
        v.Discard(3 * C, C);                            // 5: free 3
        v.CreateSnapshot("S2");                         // 6
        v.Write(3 * C, Label("D1"));                    // 7: allocate 3 and write D1
        afterStep?.Invoke("7", v);
        v.Discard(1 * C, C);                            // 8: free 1
        v.CreateSnapshot("S3");                         // 9
        return v;
    }

    [Fact]
    public void B_InUseMapsMatchTheSeedsMetaBitMaps()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        // mbm(S1) = 1111 0000, mbm(S2) = 1110 1000, mbm(S3) = 1011 1000 (D = in use, U = not in use).
        Assert.Equal("DDDDUUUU", InUse(v, "S1"));
        Assert.Equal("DDDUDUUU", InUse(v, "S2"));
        Assert.Equal("DUDDDUUU", InUse(v, "S3"));
        Assert.Equal("A0 B0 C0 D0 0 0 0 0", Image(v, "S1"));
        Assert.Equal("A0 B1 C1 0 X 0 0 0", Image(v, "S2"));
        Assert.Equal("A0 0 C1 D1 X 0 0 0", Image(v, "S3"));
    }

    [Fact]
    public void B1_NoBeforeImageIsSavedForABlockNotInUse()
    {
        var storage = new MemoryStorage();
        string? afterStep4 = null;
        using Volume v = ScenarioB(storage, (step, vol) =>
        {
            if (step == "4")
            {
                afterStep4 = Store(storage, 1);
            }
        });
        // Mapping: the engine still records that block 4 changed (a kind-only "unmapped" record, no data: its index is
        // the change map), but no store holds a before-image of it.
        Assert.Equal("1:B0 2:C0 4:unmapped", afterStep4);
        Assert.DoesNotContain(Records(storage, 1), r => r.Chunk == 4 && r.Kind == PreservedKind.Data);
        Assert.DoesNotContain(Records(storage, 2), r => r.Chunk == 4);
        Assert.DoesNotContain(Records(storage, 3), r => r.Chunk == 4);
    }

    [Fact]
    public void B2_BlockFreedThenReallocatedStillReadsItsOldValueInS1()
    {
        var storage = new MemoryStorage();
        using Volume v = ScenarioB(storage);
        // Seed: "free" does not touch the data, so D0 is saved at step 7, into the tail (S2), for S1's sake. Engine:
        // Discard makes the chunk read as zeros at once, so D0 is preserved into S1's store at step 5 (before the
        // discard), and step 7 finds block 3 not in use in S2 and records just that in S2's index. Either way S1 reads
        // D0, S2 reads block 3 as not in use, and both indexes name block 3.
        Assert.Equal("1:B0 2:C0 4:unmapped 3:D0", Store(storage, 1));
        Assert.Equal("3:unmapped 1:B1", Store(storage, 2));
        Assert.Equal("", Store(storage, 3));
        var block = new byte[C];
        v.ReadSnapshot("S1", 3 * C, block);
        Assert.Equal("D0", NameOf(block));
        v.ReadSnapshot("S2", 3 * C, block);
        Assert.Equal("0", NameOf(block));
    }

    [Fact]
    public void B3_DiffS1S3_SkipsWhatIsNotInUseInS3AndCountsWhatWasNotInUseInS1()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        // Seed: [(2,C1),(3,D1),(4,X)]. Block 1 (freed, not in use in S3) is not sent as data: the engine names it as
        // unmapped. Block 0 (unchanged) and blocks 5-7 (never in use) are not reported at all.
        Assert.Equal("1:unmapped 2:C1 3:D1 4:X", DescribeDelta(v.GetDelta("S1", "S3")));
        Assert.Equal(
            new[] { new DeltaExtent(1 * C, C, ExtentKind.Unmapped), new DeltaExtent(2 * C, 3 * C, ExtentKind.Data) },
            v.GetDelta("S1", "S3").ToArray());
    }

    [Fact]
    public void B4_DiffS2S3()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        // Seed: [(3,D1)]; block 1, freed after S2, is not in use in S3: unmapped, not data.
        Assert.Equal("1:unmapped 3:D1", DescribeDelta(v.GetDelta("S2", "S3")));
    }

    [Fact]
    public void B5_DiffS1S2()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        // Seed: [(1,B1),(2,C1),(4,X)]; block 3 is not in use in S2: unmapped, not data.
        Assert.Equal("1:B1 2:C1 3:unmapped 4:X", DescribeDelta(v.GetDelta("S1", "S2")));
    }

    [Fact]
    public void B6_TheDiffFindsTheBlockABitmapOnlyScanWouldMiss()
    {
        var storage = new MemoryStorage();
        using Volume v = ScenarioB(storage);
        // FIG. 34 over bit maps holding only saved before-images gives {1,2,3}: it sends freed block 1 and misses block
        // 4. In the engine the write path and the diff share one regime: the index records every change, including
        // the kind-only record of block 4, so block 4 is in the diff as data and block 1 is never sent as data.
        VolumeDelta d = v.GetDelta("S1", "S3");
        List<DeltaExtent> extents = d.ToList();
        Assert.Contains(extents, e => e.Kind == ExtentKind.Data && e.Offset <= 4 * C && e.End >= 5 * C);
        Assert.DoesNotContain(extents, e => e.Kind == ExtentKind.Data && e.Offset < 2 * C && e.End > 1 * C);
        Assert.Equal("4:X", DescribeDelta(d).Split(' ').Single(s => s.StartsWith("4:", StringComparison.Ordinal)));
    }

    [Fact]
    public void B7_RoundTripOverInUseBlocks()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        string?[] points = { "S1", "S2", "S3", null };
        for (int l = 0; l < points.Length - 1; l++)
        {
            for (int m = l + 1; m < points.Length; m++)
            {
                byte[] rebuilt = Apply(ReadAll(v, points[l]), v.GetDelta(points[l], points[m]));
                byte[] target = ReadAll(v, points[m]);
                string inUse = InUse(v, points[m]);
                for (int b = 0; b < 8; b++)
                {
                    if (inUse[b] == 'D')
                    {
                        Assert.True(target.AsSpan(b * C, C).SequenceEqual(rebuilt.AsSpan(b * C, C)), $"block {b} of diff({points[l]},{points[m]})");
                    }
                }
                // Stronger than the seed: a consumer that zeroes the unmapped extents gets the whole image exactly.
                Assert.True(target.AsSpan().SequenceEqual(rebuilt), $"diff({points[l]},{points[m] ?? "live"})");
            }
        }
    }

    [Fact]
    public void B8_ACoarseInUseGranuleIsInUseIfAnyOfItsBlocksIs()
    {
        // The engine's in-use map has one bit per chunk. With 8 KiB chunks and 4 KiB seed blocks a chunk plays the
        // seed's "2 blocks per bit": block 4 valid and block 5 never written share chunk 2, which is in use, so a write
        // to block 5 preserves the chunk (block 4's data and block 5's zeros) and the diff checks it.
        const int Coarse = 2 * C;
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = Coarse });
        v.Write(4 * C, Label("E0"));
        v.CreateSnapshot("S1");
        v.Write(5 * C, Label("Y"));
        List<IndexRecord> records = Records(storage, 1);
        Assert.Equal(new[] { (2L, PreservedKind.Data) }, records.Select(r => (r.Chunk, r.Kind)).ToArray());
        byte[] preserved = storage.ReadAllBytes(PreservationLog.DataName(1)).AsSpan((int)DataOffset(2, Coarse), Coarse).ToArray();
        Assert.Equal("E0", NameOf(preserved.AsSpan(0, C)));
        Assert.Equal("0", NameOf(preserved.AsSpan(C, C)));
        Assert.Equal(new[] { new DeltaExtent(4 * C, Coarse, ExtentKind.Data) }, v.GetDelta("S1", null).ToArray());
        Assert.Equal("0 0 0 0 E0 0 0 0", Image(v, "S1"));
        Assert.Equal("0 0 0 0 E0 Y 0 0", Image(v, null));
    }

    [Fact]
    public void B9_RestoreFromASnapshotRestoresItsInUseMap()
    {
        using Volume v = ScenarioB(new MemoryStorage());
        string s3Before = Image(v, "S3");
        v.Rollback("S2");
        Assert.Equal(InUse(v, "S2"), InUse(v, null));
        Assert.Equal("DDDUDUUU", InUse(v, null));
        Assert.Equal("A0 B1 C1 0 X 0 0 0", Image(v, null));
        // Newer snapshots keep their content (the rollback went through copy-on-write).
        Assert.Equal(s3Before, Image(v, "S3"));
        Assert.Equal("DUDDDUUU", InUse(v, "S3"));
        v.Rollback("S1");
        Assert.Equal("DDDDUUUU", InUse(v, null));
        Assert.Equal("A0 B0 C0 D0 0 0 0 0", Image(v, null));
    }

    [Fact]
    public void B10_WithNoSnapshotsAWriteTouchesNoStore()
    {
        var storage = new MemoryStorage();
        using Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        v.Write(2 * C, Label("C0"));
        v.Write(2 * C, Label("C1"));
        v.Discard(2 * C, C);
        v.Write(3 * C, Label("D0"));
        v.Flush();
        Assert.DoesNotContain(storage.List(), f => f.StartsWith("snap-", StringComparison.Ordinal));
        Assert.Equal("0 0 0 D0 0 0 0 0", Image(v, null));
    }
}
