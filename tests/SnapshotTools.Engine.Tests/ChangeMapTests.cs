using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Change maps: per-interval, merged by OR (seed 003), carrying identity and sizes (seed 000).</summary>
public class ChangeMapTests
{
    private const int C = 4096;

    private static Volume NewVolume(long chunks = 16) =>
        Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = chunks * C, ChunkSize = C });

    [Fact]
    public void IntervalMapsHoldTheChunksWrittenInTheInterval()
    {
        using Volume v = NewVolume();
        v.Write(0, new byte[16 * C]);
        v.CreateSnapshot("s1");
        v.Write(2 * C + 5, new byte[10]);
        v.Write(7 * C, new byte[2 * C]);
        v.CreateSnapshot("s2");
        v.Discard(11 * C, C);
        ChangeMap m12 = v.GetChangeMap("s1", "s2");
        ChangeMap m2live = v.GetChangeMap("s2");
        Assert.Equal(new long[] { 2, 7, 8 }, m12.ChangedChunkIndexes().ToArray());
        Assert.Equal(new long[] { 11 }, m2live.ChangedChunkIndexes().ToArray());
        Assert.Equal(v.VolumeId, m12.VolumeId);
        Assert.Equal(v.Generation, m12.Generation);
        Assert.Equal(16 * C, m12.ToSize);
    }

    [Fact]
    public void MergedMapIsTheUnionAndEqualsTheMapOfTheWholeInterval()
    {
        using Volume v = NewVolume();
        v.CreateSnapshot("s1");
        v.Write(1 * C, new byte[C]);
        v.CreateSnapshot("s2");
        v.Write(1 * C, new byte[C]);
        v.Write(4 * C, new byte[C]);
        v.CreateSnapshot("s3");
        ChangeMap merged = ChangeMap.Merge(v.GetChangeMap("s1", "s2"), v.GetChangeMap("s2", "s3"));
        Assert.Equal(new long[] { 1, 4 }, merged.ChangedChunkIndexes().ToArray());
        Assert.Equal(v.GetChangeMap("s1", "s3").ChangedChunkIndexes(), merged.ChangedChunkIndexes());
        Assert.Equal(1, merged.FromSequence);
        Assert.Equal(3, merged.ToSequence);
    }

    [Fact]
    public void GrowingMarksTheGrownChunksAndThePartialOldEnd()
    {
        using Volume v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 4 * C + 100, ChunkSize = C });
        v.CreateSnapshot("s1");
        v.Resize(8 * C);
        v.CreateSnapshot("s2");
        ChangeMap m = v.GetChangeMap("s1", "s2");
        Assert.Equal(new long[] { 4, 5, 6, 7 }, m.ChangedChunkIndexes().ToArray());
        Assert.Equal(4 * C + 100, m.FromSize);
        Assert.Equal(8 * C, m.ToSize);
    }

    [Fact]
    public void MergeRefusesMapsOfAnotherVolumeOrGenerationOrNonConsecutiveIntervals()
    {
        var storage = new MemoryStorage();
        ChangeMap old12;
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            v.CreateSnapshot("s1");
            v.Write(0, new byte[C]);
            v.CreateSnapshot("s2");
            v.CreateSnapshot("s3");
            old12 = v.GetChangeMap("s1", "s2");
            Assert.Equal(SnapshotErrorCode.InvalidArgument,
                Assert.Throws<SnapshotToolsException>(() => ChangeMap.Merge(v.GetChangeMap("s2", "s3"), old12)).Code);
        }
        using (Volume again = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C, Recreate = true }))
        {
            again.CreateSnapshot("s1");
            again.CreateSnapshot("s2");
            again.CreateSnapshot("s3");
            ChangeMap fresh = again.GetChangeMap("s2", "s3");
            Assert.Equal(old12.VolumeId, fresh.VolumeId);
            Assert.Equal(SnapshotErrorCode.GenerationMismatch,
                Assert.Throws<SnapshotToolsException>(() => ChangeMap.Merge(old12, fresh)).Code);
        }
        using Volume other = NewVolume();
        other.CreateSnapshot("a");
        other.CreateSnapshot("b");
        other.CreateSnapshot("c");
        Assert.Equal(SnapshotErrorCode.ForeignVolume,
            Assert.Throws<SnapshotToolsException>(() => ChangeMap.Merge(old12, other.GetChangeMap("b", "c"))).Code);
    }

    [Fact]
    public void SerializedMapRoundTripsAndEveryFlippedByteIsDetected()
    {
        using Volume v = NewVolume(100);
        v.CreateSnapshot("s1");
        v.Write(33 * C, new byte[3 * C]);
        v.CreateSnapshot("s2");
        ChangeMap m = v.GetChangeMap("s1", "s2");
        byte[] bytes = m.ToBytes();
        ChangeMap back = ChangeMap.FromBytes(bytes);
        Assert.Equal(m.ChangedChunkIndexes(), back.ChangedChunkIndexes());
        Assert.Equal(m.VolumeId, back.VolumeId);
        Assert.Equal(m.Generation, back.Generation);
        Assert.Equal(m.FromSize, back.FromSize);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] bad = (byte[])bytes.Clone();
            bad[i] ^= 0x10;
            var ex = Assert.Throws<SnapshotToolsException>(() => ChangeMap.FromBytes(bad));
            Assert.Equal(SnapshotErrorCode.CorruptMetadata, ex.Code);
        }
        Assert.Equal(SnapshotErrorCode.CorruptMetadata,
            Assert.Throws<SnapshotToolsException>(() => ChangeMap.FromBytes(bytes.AsSpan(0, bytes.Length - 1))).Code);
    }
}
