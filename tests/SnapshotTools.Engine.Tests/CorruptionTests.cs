using System.Buffers.Binary;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// A flipped byte in each kind of metadata is detected and reported as <see cref="SnapshotErrorCode.CorruptMetadata"/>,
/// never used silently: the two copies of <c>volume.meta</c> (one bad: the other is used; both bad: error), the
/// preservation index header, a durable index record, and preserved data or its CRC entry (detected when read).
/// Offsets in the data files come from <see cref="SeedKit.DataOffset"/>: the chunk-addressed layout of format 2.
/// </summary>
public class CorruptionTests
{
    private const string Meta0 = "volume.meta.0";
    private const string Meta1 = "volume.meta.1";
    private static readonly string Idx1 = PreservationLog.IndexName(1);
    private static readonly string Dat1 = PreservationLog.DataName(1);
    private static readonly string Idx2 = PreservationLog.IndexName(2);
    private static readonly string Dat2 = PreservationLog.DataName(2);

    /// <summary>
    /// A closed volume: 8 chunks v0..v7; S1; chunks 0-2 rewritten (S1's store: records 0-2 = chunks 0, 1, 2, data);
    /// S2; chunks 1 and 3 rewritten (S2's store: records 0-1 = chunks 1, 3, data). Flushed, then closed cleanly, so
    /// the two metadata copies differ only in the clean-shutdown flag.
    /// </summary>
    private static (MemoryStorage Storage, Dictionary<string, byte[]> Images) Closed()
    {
        var storage = new MemoryStorage();
        var images = new Dictionary<string, byte[]>();
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            for (int i = 0; i < 8; i++)
            {
                v.Write(i * C, Label("v" + i));
            }
            v.CreateSnapshot("S1");
            images["S1"] = ReadAll(v, null);
            v.Write(0, Label("a0").Concat(Label("a1")).Concat(Label("a2")).ToArray());
            v.CreateSnapshot("S2");
            images["S2"] = ReadAll(v, null);
            v.Write(1 * C, Label("b1"));
            v.Write(3 * C, Label("b3"));
            images["live"] = ReadAll(v, null);
            v.Flush();
        }
        Assert.Equal("0:v0 1:v1 2:v2", Store(storage, 1));
        Assert.Equal("1:a1 3:v3", Store(storage, 2));
        return (storage, images);
    }

    private static void AssertIntact(Volume v, Dictionary<string, byte[]> images)
    {
        Assert.Equal(new[] { "S1", "S2" }, v.Snapshots.Select(s => s.Name).ToArray());
        Assert.Equal(images["S1"], ReadAll(v, "S1"));
        Assert.Equal(images["S2"], ReadAll(v, "S2"));
        Assert.Equal(images["live"], ReadAll(v, null));
        Assert.Equal("0:a0 1:a1 2:a2", DescribeDelta(v.GetDelta("S1", "S2")));
        Assert.Equal("1:b1 3:b3", DescribeDelta(v.GetDelta("S2", null)));
    }

    private static ulong SequenceOf(MemoryStorage storage, string copy) =>
        BinaryPrimitives.ReadUInt64LittleEndian(storage.ReadAllBytes(copy).AsSpan(16));

    /// <summary>Byte positions in a metadata copy: header magic, version, sequence, body length, body CRC, header CRC, body start, middle and end.</summary>
    public static IEnumerable<object[]> MetaPositions()
    {
        foreach (int slot in new[] { 0, 1 })
        {
            foreach (string where in new[] { "magic", "version", "sequence", "bodyLength", "bodyCrc", "headerCrc", "bodyStart", "bodyMiddle", "bodyEnd" })
            {
                yield return new object[] { slot, where };
            }
        }
    }

    private static long Offset(MemoryStorage storage, string copy, string where)
    {
        int length = storage.ReadAllBytes(copy).Length;
        return where switch
        {
            "magic" => 0,
            "version" => 8,
            "sequence" => 16,
            "bodyLength" => 24,
            "bodyCrc" => 32,
            "headerCrc" => 60,
            "bodyStart" => MetadataFile.HeaderLength,
            "bodyMiddle" => (MetadataFile.HeaderLength + length) / 2,
            _ => length - 1,
        };
    }

    [Theory]
    [MemberData(nameof(MetaPositions))]
    public void OneBadMetadataCopy_TheOtherIsUsed(int slot, string where)
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        string bad = slot == 0 ? Meta0 : Meta1;
        string good = slot == 0 ? Meta1 : Meta0;
        bool badWasNewest = SequenceOf(storage, bad) > SequenceOf(storage, good);
        FlipByte(storage, bad, Offset(storage, bad, where));
        using (Volume v = Volume.Open(storage))
        {
            AssertIntact(v, images);
            // The newest copy is the clean-shutdown one; falling back to the older copy sees the flush before it.
            Assert.Equal(!badWasNewest, v.Recovery.WasCleanShutdown);
        }
        // Opening rewrote the bad copy: now the other one can fail and the volume still opens.
        FlipByte(storage, good, MetadataFile.HeaderLength + 1);
        using (Volume v = Volume.Open(storage))
        {
            AssertIntact(v, images);
        }
    }

    [Theory]
    [InlineData("magic")]
    [InlineData("sequence")]
    [InlineData("headerCrc")]
    [InlineData("bodyMiddle")]
    [InlineData("bodyEnd")]
    public void BothMetadataCopiesBad_CorruptMetadataNamingBoth(string where)
    {
        (MemoryStorage storage, _) = Closed();
        FlipByte(storage, Meta0, Offset(storage, Meta0, where));
        FlipByte(storage, Meta1, Offset(storage, Meta1, where));
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains(Meta0, ex.Message);
        Assert.Contains(Meta1, ex.Message);
        // The refused open released the lock and changed nothing: repairing one copy makes it open again.
        FlipByte(storage, Meta0, Offset(storage, Meta0, where));
        using Volume v = Volume.Open(storage);
        Assert.Equal(2, v.Snapshots.Count);
    }

    [Fact]
    public void MetadataCopyTruncatedOrMissing()
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        byte[] copy0 = storage.ReadAllBytes(Meta0);
        storage.WriteAllBytes(Meta0, copy0.AsSpan(0, copy0.Length - 10).ToArray());
        using (Volume v = Volume.Open(storage))
        {
            AssertIntact(v, images);
        }
        storage.WriteAllBytes(Meta0, copy0.AsSpan(0, 30).ToArray());
        storage.Delete(Meta1);
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void MetadataOfANewerFormatVersionIsRefused()
    {
        (MemoryStorage storage, _) = Closed();
        foreach (string copy in new[] { Meta0, Meta1 })
        {
            byte[] bytes = storage.ReadAllBytes(copy);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 99);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(60), Crc32C.Compute(bytes.AsSpan(0, 60)));
            storage.WriteAllBytes(copy, bytes);
        }
        Throws(SnapshotErrorCode.UnsupportedFormat, () => Volume.Open(storage));
    }

    [Theory]
    [InlineData(0)]   // magic
    [InlineData(8)]   // version
    [InlineData(12)]  // chunk size
    [InlineData(20)]  // volume id
    [InlineData(40)]  // snapshot id
    [InlineData(48)]  // sequence
    [InlineData(60)]  // header CRC
    public void IndexHeaderFlippedByte_CorruptMetadataNamingTheFile(int offset)
    {
        (MemoryStorage storage, _) = Closed();
        FlipByte(storage, Idx2, offset);
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains(Idx2, ex.Message);
    }

    [Fact]
    public void IndexOfAnotherSnapshot_CorruptMetadata()
    {
        // A well-formed header with a valid checksum that names another snapshot (files swapped or restored wrongly).
        (MemoryStorage storage, _) = Closed();
        storage.WriteAllBytes(Idx2, storage.ReadAllBytes(Idx1));
        storage.WriteAllBytes(Dat2, storage.ReadAllBytes(Dat1));
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains(Idx2, ex.Message);
    }

    [Fact]
    public void IndexTruncatedOrMissing_CorruptMetadata()
    {
        (MemoryStorage storage, _) = Closed();
        byte[] idx = storage.ReadAllBytes(Idx1);
        // Durable records cut off: the metadata says three records were durable.
        storage.WriteAllBytes(Idx1, idx.AsSpan(0, PreservationLog.HeaderLength + PreservationLog.RecordLength).ToArray());
        Assert.Contains("durable", Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage)).Message);
        storage.WriteAllBytes(Idx1, idx.AsSpan(0, 10).ToArray());
        Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        storage.Delete(Idx1);
        Assert.Contains(Idx1, Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage)).Message);
        storage.WriteAllBytes(Idx1, idx);
        storage.Delete(Dat1);
        Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
    }

    [Theory]
    [InlineData(0, 0)]   // record 0: chunk index
    [InlineData(0, 8)]   // record 0: ordinal
    [InlineData(1, 16)]  // record 1: kind
    [InlineData(1, 20)]  // record 1: data CRC
    [InlineData(2, 24)]  // record 2: salt
    [InlineData(2, 28)]  // record 2: record CRC
    public void DurableIndexRecordFlippedByte_CorruptMetadataOnOpen(int record, int field)
    {
        (MemoryStorage storage, _) = Closed();
        FlipByte(storage, Idx1, PreservationLog.HeaderLength + record * PreservationLog.RecordLength + field);
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains(Idx1, ex.Message);
        Assert.Contains($"record {record}", ex.Message);
    }

    [Fact]
    public void IndexRecordFlippedWhileOpen_ReadsStayVerifiedAndTheNextOpenRefusesIt()
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        using (Volume v = Volume.Open(storage))
        {
            // Record 1 of S1's store is chunk 1's. An open volume reads preserved data by chunk and checks it against
            // the chunk's CRC entry in the data file; the index record is not consulted again, so reads are exact.
            FlipByte(storage, Idx1, PreservationLog.HeaderLength + 1 * PreservationLog.RecordLength + 3);
            var block = new byte[C];
            v.ReadSnapshot("S1", 1 * C, block);
            Assert.Equal("v1", NameOf(block));
            Assert.Equal(images["S1"], ReadAll(v, "S1"));
            Assert.Equal(images["S2"], ReadAll(v, "S2"));
        }
        // The record is durable: the next open checks it and refuses the store.
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Assert.Contains(Idx1, ex.Message);
        Assert.Contains("record 1", ex.Message);
    }

    [Fact]
    public void IndexOfFormatVersion1_UnsupportedFormat()
    {
        // Version 1 addressed data by record ordinal; it was never deployed and there is no reader for it.
        (MemoryStorage storage, _) = Closed();
        byte[] idx = storage.ReadAllBytes(Idx1);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(idx.AsSpan(8)));
        BinaryPrimitives.WriteUInt32LittleEndian(idx.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(idx.AsSpan(60), Crc32C.Compute(idx.AsSpan(0, 60)));
        storage.WriteAllBytes(Idx1, idx);
        SnapshotToolsException ex = Throws(SnapshotErrorCode.UnsupportedFormat, () => Volume.Open(storage));
        Assert.Contains(Idx1, ex.Message);
        Assert.Contains("version 1", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(C - 1)]
    public void PreservedDataFlippedByte_DetectedOnSnapshotRead(int within)
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        // Record 2 of S1's store: chunk 2's before-image v2, in chunk 2's slot of the data file.
        FlipByte(storage, Dat1, DataOffset(2) + within);
        using Volume v = Volume.Open(storage);
        var block = new byte[C];
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 2 * C, block));
        Assert.Contains("chunk 2", ex.Message);
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 2 * C + within, new byte[1]));
        Throws(SnapshotErrorCode.CorruptMetadata, () => ReadAll(v, "S1"));
        AssertOnlyChunk2OfS1IsBad(v, images);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void PreservedCrcEntryFlippedByte_DetectedOnSnapshotRead(int within)
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        // Chunk 2's u32 CRC-32C entry in the CRC block at the start of its group (the data itself is intact).
        Assert.Equal(Crc32C.Compute(Label("v2")), BinaryPrimitives.ReadUInt32LittleEndian(storage.ReadAllBytes(Dat1).AsSpan((int)CrcEntryOffset(2))));
        FlipByte(storage, Dat1, CrcEntryOffset(2) + within);
        using Volume v = Volume.Open(storage);
        var block = new byte[C];
        SnapshotToolsException ex = Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 2 * C, block));
        Assert.Contains("chunk 2", ex.Message);
        Assert.Contains(Dat1, ex.Message);
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 2 * C + 7, new byte[1]));
        Throws(SnapshotErrorCode.CorruptMetadata, () => ReadAll(v, "S1"));
        AssertOnlyChunk2OfS1IsBad(v, images);
    }

    /// <summary>Chunk 2 of S1 is unreadable (corrupt); everything else reads exactly.</summary>
    private static void AssertOnlyChunk2OfS1IsBad(Volume v, Dictionary<string, byte[]> images)
    {
        var block = new byte[C];
        // A full delta of S1 reads it as data: detected there too.
        VolumeDelta full = v.GetDelta(null, "S1");
        Throws(SnapshotErrorCode.CorruptMetadata, () => full.ReadData(2 * C, block));
        Throws(SnapshotErrorCode.CorruptMetadata, () => DescribeDelta(full));
        // Everything else is intact.
        v.ReadSnapshot("S1", 1 * C, block);
        Assert.Equal("v1", NameOf(block));
        Assert.Equal(images["S2"], ReadAll(v, "S2"));
        Assert.Equal(images["live"], ReadAll(v, null));
        Assert.Equal("0:a0 1:a1 2:a2", DescribeDelta(v.GetDelta("S1", "S2")));
    }

    [Fact]
    public void PreservedDataFlippedByte_DetectedOnDeltaReadData()
    {
        (MemoryStorage storage, _) = Closed();
        // Record 0 of S2's store: chunk 1 as of S2 (a1). delta(S1, S2) reads chunk 1 from it.
        FlipByte(storage, Dat2, DataOffset(1) + 17);
        using Volume v = Volume.Open(storage);
        VolumeDelta d = v.GetDelta("S1", "S2");
        Assert.Equal(new[] { new DeltaExtent(0, 3 * C, ExtentKind.Data) }, d.ToArray());
        var block = new byte[C];
        d.ReadData(0, block);
        Assert.Equal("a0", NameOf(block));
        Throws(SnapshotErrorCode.CorruptMetadata, () => d.ReadData(1 * C, block));
        Throws(SnapshotErrorCode.CorruptMetadata, () => d.ReadData(0, new byte[3 * C]));
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.GetDelta("S1", "S2").ReadData(C + 17, new byte[1]));
        // S1 reads chunk 1 from its own store, and the delta to live reads live data: unaffected.
        Assert.Equal("1:b1 3:b3", DescribeDelta(v.GetDelta("S2", null)));
    }

    [Fact]
    public void PreservedDataFlippedByte_ExportFailsAndLeavesNoImage()
    {
        (MemoryStorage storage, _) = Closed();
        FlipByte(storage, Dat1, DataOffset(0) + 5);
        using var folder = new TempFolder();
        string image = folder.Sub("s1.img");
        using Volume v = Volume.Open(storage);
        Throws(SnapshotErrorCode.CorruptMetadata, () => RawImage.Export(v, "S1", image));
        Assert.False(File.Exists(image));
        Assert.False(File.Exists(image + ".partial"));
        Assert.Equal(v.Size, RawImage.Export(v, "S2", image));
    }

    [Fact]
    public void PreservedDataTruncated_DetectedOnRead()
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        byte[] dat = storage.ReadAllBytes(Dat1);
        storage.WriteAllBytes(Dat1, dat.AsSpan(0, (int)DataOffset(2) + 10).ToArray());
        using Volume v = Volume.Open(storage);
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 2 * C, new byte[C]));
        var block = new byte[C];
        v.ReadSnapshot("S1", C, block);
        Assert.Equal("v1", NameOf(block));
        Assert.Equal(images["S2"], ReadAll(v, "S2"));
    }

    [Fact]
    public void RecreatingOverUnreadableMetadataGetsAFreshIdentity()
    {
        // Nothing of an unreadable incarnation can be trusted to match, so the new volume gets a new id: snapshot
        // infos of the old one are then foreign rather than an older generation.
        (MemoryStorage storage, _) = Closed();
        SnapshotInfo oldS1;
        Guid oldId;
        using (Volume v = Volume.Open(storage))
        {
            oldS1 = v.GetSnapshot("S1");
            oldId = v.VolumeId;
        }
        FlipByte(storage, Meta0, 70);
        FlipByte(storage, Meta1, 70);
        Throws(SnapshotErrorCode.CorruptMetadata, () => Volume.Open(storage));
        Throws(SnapshotErrorCode.VolumeExists, () => Volume.Create(storage, new VolumeCreateOptions { Size = 4 * C, ChunkSize = C }));
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 4 * C, ChunkSize = C, Recreate = true }))
        {
            Assert.NotEqual(oldId, v.VolumeId);
            Assert.Empty(v.Snapshots);
            Assert.Equal("0 0 0 0", Image(v, null));
            Throws(SnapshotErrorCode.ForeignVolume, () => v.GetDelta(oldS1, null, new DeltaOptions { AllowFull = true }));
        }
        using (Volume v = Volume.Open(storage))
        {
            Assert.Equal(4 * C, v.Size);
        }
    }

    [Fact]
    public void PreservedDataFlippedByte_RollbackFailsBeforeChangingAnything()
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        // S1's before-image of chunk 1 (record 1) is corrupt; chunk 0 (record 0) is fine and would be restored first.
        FlipByte(storage, Dat1, DataOffset(1) + 5);
        using (Volume v = Volume.Open(storage))
        {
            Throws(SnapshotErrorCode.CorruptMetadata, () => v.Rollback("S1"));
            Assert.Equal(images["live"], ReadAll(v, null));
            Assert.Equal(images["S2"], ReadAll(v, "S2"));
            Assert.Equal("1:b1 3:b3", DescribeDelta(v.GetDelta("S2", null)));
            // Rolling back to the intact snapshot still works.
            v.Rollback("S2");
            Assert.Equal(images["S2"], ReadAll(v, null));
        }
        // No half-done rollback was recorded: the volume opens, and nothing is resumed.
        using (Volume v = Volume.Open(storage))
        {
            Assert.Null(v.Recovery.RollbackOutcome);
            Assert.Equal(images["S2"], ReadAll(v, null));
            Throws(SnapshotErrorCode.CorruptMetadata, () => v.Rollback("S1"));
        }
    }

    [Fact]
    public void PreservedDataFlippedByte_DeletingTheSnapshotThatMustMergeItFailsAndDeletesNothing()
    {
        (MemoryStorage storage, Dictionary<string, byte[]> images) = Closed();
        // S1 reads chunk 3 through S2's store (record 1: v3); deleting S2 must move it, and finds it corrupt.
        FlipByte(storage, Dat2, DataOffset(3) + 9);
        using Volume v = Volume.Open(storage);
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.DeleteSnapshot("S2"));
        Assert.Equal(new[] { "S1", "S2" }, v.Snapshots.Select(s => s.Name).ToArray());
        Assert.Equal(images["live"], ReadAll(v, null));
        var block = new byte[C];
        v.ReadSnapshot("S1", 0, block);
        Assert.Equal("v0", NameOf(block));
        Throws(SnapshotErrorCode.CorruptMetadata, () => v.ReadSnapshot("S1", 3 * C, block));
    }
}
