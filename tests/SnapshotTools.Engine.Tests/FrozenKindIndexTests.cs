using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// The frozen (immutable, compressed) chunk -> kind index of an older snapshot's preservation log, against a
/// <see cref="Dictionary{TKey, TValue}"/> reference: random sets of several densities (array and bitmap containers),
/// container edges, chunks up to 2^36, all-data and mixed kinds, the empty index, and the round trip to and from the
/// mutable <see cref="ChunkKindIndex"/>.
/// </summary>
public class FrozenKindIndexTests
{
    private static readonly PreservedKind[] s_kinds = { PreservedKind.Data, PreservedKind.Zero, PreservedKind.Unmapped, PreservedKind.Excluded };

    [Theory]
    [InlineData(1, 1L << 20, 0.001, false)]     // sparse: array containers
    [InlineData(2, 1L << 20, 0.05, true)]       // about 3300 a container: arrays near their limit, mixed kinds
    [InlineData(3, 1L << 20, 0.07, false)]      // about 4600 a container: bitmaps, all data
    [InlineData(4, 1L << 20, 0.5, true)]        // half the chunks: bitmaps, mixed kinds
    [InlineData(5, 1L << 18, 1.0, true)]        // every chunk: full bitmaps, mixed kinds
    [InlineData(6, 1L << 18, 1.0, false)]       // every chunk, all data
    [InlineData(7, 1L << 36, 0.0000002, true)]  // about 14 000 chunks spread up to 2^36: one record a container
    public void RandomSetsMatchADictionary(int seed, long range, double density, bool mixedKinds)
    {
        var rng = new Random(seed);
        var reference = new SortedDictionary<long, PreservedKind>();
        if (density >= 1.0)
        {
            for (long c = 0; c < range; c++)
            {
                reference[c] = mixedKinds ? s_kinds[rng.Next(4)] : PreservedKind.Data;
            }
        }
        else
        {
            long n = (long)(range * density);
            while (reference.Count < n)
            {
                reference[rng.NextInt64(range)] = mixedKinds ? s_kinds[rng.Next(4)] : PreservedKind.Data;
            }
        }
        FrozenKindIndex index = Build(reference);
        AssertSame(reference, index, range, rng);
    }

    [Fact]
    public void ContainerEdges()
    {
        // The first and last chunk of containers, exactly 4096 records (still an array) and 4097 (a bitmap), a kind
        // change only in the last record, and a container far away.
        var reference = new SortedDictionary<long, PreservedKind>();
        reference[0] = PreservedKind.Zero;
        reference[65535] = PreservedKind.Zero;
        for (long c = 65536; c < 65536 + 4096; c++)
        {
            reference[c] = PreservedKind.Data; // container 1: 4096 records, an array
        }
        for (long c = 2 * 65536; c < 2 * 65536 + 4097; c++)
        {
            reference[c] = PreservedKind.Unmapped; // container 2: 4097 records, a bitmap
        }
        reference[2 * 65536 + 4096] = PreservedKind.Excluded;
        for (long c = 4 * 65536 - 64; c < 4 * 65536 + 64; c++)
        {
            reference[c] = c % 3 == 0 ? PreservedKind.Data : PreservedKind.Zero; // across the edge of containers 3 and 4
        }
        reference[(1L << 36) - 1] = PreservedKind.Data;
        reference[1L << 36] = PreservedKind.Excluded;
        FrozenKindIndex index = Build(reference);
        AssertSame(reference, index, 5 * 65536, new Random(1));
        Assert.Equal(7, index.ContainerCount);
        Assert.False(index.Contains(65536 + 4096));
        Assert.False(index.Contains(2 * 65536 + 4097));
        Assert.False(index.Contains(-1));
        Assert.False(index.Contains(long.MaxValue));
    }

    [Fact]
    public void Empty()
    {
        FrozenKindIndex index = new FrozenKindIndex.Builder().Build();
        Assert.Equal(0, index.Count);
        Assert.False(index.TryGet(0, out PreservedKind kind));
        Assert.Equal(PreservedKind.Void, kind);
        var list = new List<(long, PreservedKind)>();
        index.CopyTo(list);
        Assert.Empty(list);
        var bitmap = new ChunkBitmap(1000);
        index.UnionInto(bitmap);
        Assert.Equal(0, bitmap.PopCount());
        Assert.Same(FrozenKindIndex.Empty, FrozenKindIndex.From(new ChunkKindIndex(1000)));
    }

    [Fact]
    public void UniformContainersCostAboutOneBitAChunkOrTwoBytesARecord()
    {
        const long Chunks = 1L << 24; // 1 TiB at 64 KiB chunks
        var full = new ChunkKindIndex(Chunks);
        for (long c = 0; c < Chunks; c++)
        {
            full.TryAdd(c, PreservedKind.Data);
        }
        FrozenKindIndex frozen = FrozenKindIndex.From(full);
        Assert.Equal(Chunks, frozen.Count);
        // 8 KiB bitmap + 256 bytes of ranks + 16 bytes of key and reference per container of 2^16 chunks.
        Assert.Equal(Chunks / 65536 * (8192 + 256 + 16), frozen.AllocatedBytes);
        Assert.True(frozen.AllocatedBytes < full.AllocatedBytes / 2.8, $"{frozen.AllocatedBytes} vs {full.AllocatedBytes}");

        var rng = new Random(3);
        var sparse = new ChunkKindIndex(Chunks);
        for (int i = 0; i < 100_000; i++)
        {
            sparse.TryAdd(rng.NextInt64(Chunks), PreservedKind.Zero);
        }
        FrozenKindIndex small = FrozenKindIndex.From(sparse);
        Assert.True(small.AllocatedBytes / (double)small.Count < 2.1, $"{small.AllocatedBytes / (double)small.Count:F2} bytes a record");
    }

    [Fact]
    public void MixedKindsCostTwoMoreBitsARecord()
    {
        var builder = new FrozenKindIndex.Builder();
        for (long c = 0; c < 65536; c++)
        {
            builder.Add(c, s_kinds[c % 4]);
        }
        FrozenKindIndex index = builder.Build();
        Assert.Equal(8192 + 256 + 16 + 65536 / 4, index.AllocatedBytes);
    }

    [Fact]
    public void RoundTripsThroughTheMutableIndex()
    {
        var rng = new Random(9);
        var source = new ChunkKindIndex(1L << 22);
        for (int i = 0; i < 200_000; i++)
        {
            source.TryAdd(rng.NextInt64(1L << 22), s_kinds[rng.Next(4)]);
        }
        Assert.True(source.IsDense);
        FrozenKindIndex frozen = FrozenKindIndex.From(source);
        var thawed = new ChunkKindIndex(1L << 22);
        frozen.CopyTo(thawed);
        var a = new List<(long, PreservedKind)>();
        var b = new List<(long, PreservedKind)>();
        var c = new List<(long, PreservedKind)>();
        source.CopyTo(a);
        frozen.CopyTo(b);
        thawed.CopyTo(c);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
    }

    [Fact]
    public void BuilderRejectsOutOfOrderAndBadKinds()
    {
        var builder = new FrozenKindIndex.Builder();
        builder.Add(5, PreservedKind.Data);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Add(5, PreservedKind.Data));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Add(4, PreservedKind.Data));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Add(6, PreservedKind.Void));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Add(7, (PreservedKind)5));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Add(1L << 61, PreservedKind.Data));
        Assert.Equal(1, builder.Build().Count);
    }

    private static FrozenKindIndex Build(SortedDictionary<long, PreservedKind> reference)
    {
        var builder = new FrozenKindIndex.Builder();
        foreach ((long chunk, PreservedKind kind) in reference)
        {
            builder.Add(chunk, kind);
        }
        return builder.Build();
    }

    private static void AssertSame(SortedDictionary<long, PreservedKind> reference, FrozenKindIndex index, long range, Random rng)
    {
        Assert.Equal(reference.Count, index.Count);
        foreach ((long chunk, PreservedKind kind) in reference)
        {
            Assert.True(index.TryGet(chunk, out PreservedKind got), $"chunk {chunk} missing");
            Assert.Equal(kind, got);
        }
        for (int i = 0; i < 20_000; i++)
        {
            // Random probes, and the neighbours of recorded chunks (container and word edges).
            long probe = i % 2 == 0 ? rng.NextInt64(range + 65536) : reference.Keys.ElementAtOrDefault(rng.Next(Math.Max(1, Math.Min(reference.Count, 1000)))) + rng.Next(-2, 3);
            bool expected = reference.TryGetValue(probe, out PreservedKind want);
            Assert.Equal(expected, index.TryGet(probe, out PreservedKind have));
            Assert.Equal(expected ? want : PreservedKind.Void, have);
            Assert.Equal(expected, index.Contains(probe));
        }
        var list = new List<(long Chunk, PreservedKind Kind)>();
        index.CopyTo(list);
        Assert.Equal(reference.Select(p => (p.Key, p.Value)).ToArray(), list.ToArray());
        if (reference.Count == 0 || reference.Keys.Last() < 1L << 36)
        {
            // (A mutable index that has gone dense takes no chunk past 2^36; no volume has that many.)
            var thawed = new ChunkKindIndex(Math.Min(range, 1L << 36));
            index.CopyTo(thawed);
            Assert.Equal(reference.Count, thawed.Count);
        }
        if (range <= 1L << 24)
        {
            // Bitmaps ending mid-word, mid-container, at a container edge, and past every record.
            foreach (long bits in new[] { range / 2 + 13, 65536, 65536 + 4096 + 1, range + 200 })
            {
                var bitmap = new ChunkBitmap(bits);
                bitmap.Set(bits - 1); // a bit already set stays set
                index.UnionInto(bitmap);
                Assert.Equal(reference.Keys.Count(k => k < bits - 1) + 1, bitmap.PopCount());
                foreach (long chunk in reference.Keys.Where(k => k < bits))
                {
                    Assert.True(bitmap.Get(chunk));
                }
            }
        }
    }
}
