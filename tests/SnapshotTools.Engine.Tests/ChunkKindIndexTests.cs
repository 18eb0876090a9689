using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// The in-memory chunk -> kind index of a preservation log, against a <see cref="Dictionary{TKey, TValue}"/>
/// reference: random additions (first record wins) with lookups, ordered enumeration and bitmap unions checked along
/// the way, across the switch from the sparse hash table to the dense bit planes.
/// </summary>
public class ChunkKindIndexTests
{
    private static readonly PreservedKind[] s_kinds = { PreservedKind.Data, PreservedKind.Zero, PreservedKind.Unmapped, PreservedKind.Excluded };

    [Theory]
    [InlineData(1, 1L << 20, 20_000, false)]     // few records over a large range: stays sparse
    [InlineData(2, 4096, 4096, true)]            // every chunk of a small range: goes dense
    [InlineData(3, 100_000, 60_000, true)]       // random over a range it mostly fills: goes dense mid-way
    [InlineData(4, 1L << 40, 5_000, false)]      // chunks far beyond any dense range: stays sparse
    public void RandomOperationsMatchADictionary(int seed, long range, int additions, bool endsDense)
    {
        var rng = new Random(seed);
        var index = new ChunkKindIndex(range);
        var reference = new Dictionary<long, PreservedKind>();
        bool sawSparse = false;
        for (int i = 0; i < additions; i++)
        {
            // Some repeats (a second record of a chunk must not change its kind) and some near-neighbours.
            long chunk = rng.Next(4) switch
            {
                0 when reference.Count > 0 => reference.Keys.ElementAt(rng.Next(Math.Min(reference.Count, 50))),
                1 => Math.Min(range - 1, (long)(rng.NextDouble() * 64)),
                _ => rng.NextInt64(range),
            };
            PreservedKind kind = s_kinds[rng.Next(s_kinds.Length)];
            bool added = reference.TryAdd(chunk, kind);
            Assert.Equal(added, index.TryAdd(chunk, kind));
            sawSparse |= !index.IsDense;
            if (i % 997 == 0)
            {
                AssertSame(reference, index, range, rng);
            }
        }
        AssertSame(reference, index, range, rng);
        Assert.True(sawSparse);
        Assert.Equal(endsDense, index.IsDense);
    }

    [Fact]
    public void DenseFormCostsThreeBitsAChunk()
    {
        // Every chunk of a range, in ascending order (a WriteZeroes over the volume, or Open of its log).
        const long Chunks = 1L << 20;
        var index = new ChunkKindIndex(Chunks);
        for (long c = 0; c < Chunks; c++)
        {
            index.TryAdd(c, s_kinds[c % 4]);
        }
        Assert.True(index.IsDense);
        Assert.Equal(Chunks * 3 / 8, index.AllocatedBytes);
        Assert.Equal(Chunks, index.Count);
        var list = new List<(long, PreservedKind)>();
        index.CopyTo(list);
        for (int c = 0; c < Chunks; c++)
        {
            Assert.Equal((c, s_kinds[c % 4]), list[c]);
        }
    }

    [Fact]
    public void SparseFormStaysWellUnderThirtyBytesARecord()
    {
        var rng = new Random(7);
        var index = new ChunkKindIndex(1L << 24);
        for (int i = 0; i < 100_000; i++)
        {
            index.TryAdd(rng.NextInt64(1L << 24), PreservedKind.Data);
        }
        Assert.False(index.IsDense);
        Assert.True(index.AllocatedBytes / (double)index.Count <= 22, $"{index.AllocatedBytes / (double)index.Count:F1} bytes a record");
    }

    [Fact]
    public void SwitchesToDenseOnlyWhenDenseIsSmaller()
    {
        const long Chunks = 1L << 22; // dense: 1.5 MiB
        var index = new ChunkKindIndex(Chunks);
        var rng = new Random(11);
        index.TryAdd(Chunks - 1, PreservedKind.Zero);
        while (!index.IsDense)
        {
            long before = index.AllocatedBytes;
            index.TryAdd(rng.NextInt64(Chunks), PreservedKind.Data);
            if (index.IsDense)
            {
                // It switched when the table would have doubled past the bit planes' size.
                Assert.True(before * 2 >= index.AllocatedBytes, $"{before} -> {index.AllocatedBytes}");
                Assert.True(before < index.AllocatedBytes);
            }
        }
        Assert.Equal(Chunks * 3 / 8, index.AllocatedBytes);
    }

    [Fact]
    public void DenseFormGrowsForChunksPastTheExpectedCount()
    {
        var index = new ChunkKindIndex(128);
        for (long c = 0; c < 128; c++)
        {
            index.TryAdd(c, PreservedKind.Unmapped);
        }
        Assert.True(index.IsDense);
        Assert.True(index.TryAdd(10_000, PreservedKind.Excluded));
        Assert.True(index.TryGet(10_000, out PreservedKind kind));
        Assert.Equal(PreservedKind.Excluded, kind);
        Assert.False(index.Contains(9_999));
        Assert.False(index.Contains(1L << 50));
        Assert.Equal(129, index.Count);
    }

    [Fact]
    public void RejectsVoidNegativeAndUnknown()
    {
        var index = new ChunkKindIndex();
        Assert.Throws<ArgumentOutOfRangeException>(() => index.TryAdd(1, PreservedKind.Void));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.TryAdd(1, (PreservedKind)5));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.TryAdd(-1, PreservedKind.Data));
        Assert.False(index.Contains(-1));
        Assert.Equal(0, index.Count);
    }

    private static void AssertSame(Dictionary<long, PreservedKind> reference, ChunkKindIndex index, long range, Random rng)
    {
        Assert.Equal(reference.Count, index.Count);
        foreach ((long chunk, PreservedKind kind) in reference)
        {
            Assert.True(index.TryGet(chunk, out PreservedKind got), $"chunk {chunk} missing");
            Assert.Equal(kind, got);
        }
        for (int i = 0; i < 200; i++)
        {
            long probe = rng.NextInt64(Math.Min(range, long.MaxValue / 2) * 2);
            Assert.Equal(reference.ContainsKey(probe), index.Contains(probe));
        }
        var list = new List<(long Chunk, PreservedKind Kind)>();
        index.CopyTo(list);
        Assert.Equal(reference.OrderBy(p => p.Key).Select(p => (p.Key, p.Value)).ToArray(), list.ToArray());
        if (range <= 1L << 24)
        {
            // The union into a bitmap shorter than the range keeps only the chunks below its count, whatever the form.
            long bits = range / 2 + 13;
            var bitmap = new ChunkBitmap(bits);
            index.UnionInto(bitmap);
            Assert.Equal(reference.Keys.Count(k => k < bits), bitmap.PopCount());
            foreach (long chunk in reference.Keys.Where(k => k < bits))
            {
                Assert.True(bitmap.Get(chunk));
            }
        }
    }
}
