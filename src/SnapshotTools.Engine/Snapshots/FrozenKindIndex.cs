using System.Numerics;
using SnapshotTools.Engine.Maps;

namespace SnapshotTools.Engine.Snapshots;

/// <summary>
/// An immutable, compressed chunk -> <see cref="PreservedKind"/> set: the in-memory index of a preservation log that
/// no longer changes during writes (every snapshot but the newest). Built once from records in ascending chunk order
/// (<see cref="Builder"/>); read-only afterwards, so safe for concurrent readers.
/// </summary>
/// <remarks>
/// Roaring-style. Chunks are grouped into containers of 2^16 (<c>chunk &gt;&gt; 16</c>, keys ascending). A container
/// with at most <see cref="MaxArrayLength"/> records holds their low 16 bits as a sorted <c>ushort[]</c> (2 bytes a
/// record); a fuller one holds a 1024-word bitmap (8 KiB, 1 bit a chunk) plus a cumulative record count before each
/// block of 8 words, for rank. Kinds are stored by rank within the container, 2 bits a record, and not at all when
/// every record of the container has the same kind (the common case: a busy interval preserves data chunks). So a
/// snapshot that preserved every chunk costs about 1 bit a chunk (2 MiB per TiB at 64 KiB chunks) instead of the 3 of
/// the dense <see cref="ChunkKindIndex"/>, and a sparse one about 2 bytes a record instead of 11 to 21.
/// </remarks>
internal sealed class FrozenKindIndex : IChunkKindSet
{
    /// <summary>The most records a container holds as a sorted array; beyond it a bitmap (8 KiB) is smaller.</summary>
    public const int MaxArrayLength = 4096;

    private const int ContainerShift = 16;
    private const int ContainerChunks = 1 << ContainerShift;
    private const int BitmapWords = ContainerChunks / 64;
    private const int RankBlockShift = 3; // blocks of 8 words
    private const int RankBlocks = BitmapWords >> RankBlockShift;
    private const long MaxChunk = (1L << 61) - 1;

    private readonly long[] _keys;
    private readonly Container[] _containers;
    private readonly long _count;

    private FrozenKindIndex(long[] keys, Container[] containers, long count)
    {
        _keys = keys;
        _containers = containers;
        _count = count;
    }

    /// <summary>Gets an index without records.</summary>
    public static FrozenKindIndex Empty { get; } = new(Array.Empty<long>(), Array.Empty<Container>(), 0);

    /// <summary>Gets the number of chunks recorded.</summary>
    public long Count => _count;

    /// <summary>Gets the number of containers (for tests).</summary>
    internal int ContainerCount => _containers.Length;

    /// <summary>Gets the bytes of the arrays the index holds (object headers excluded).</summary>
    public long AllocatedBytes
    {
        get
        {
            long bytes = _keys.LongLength * 8 + _containers.LongLength * 8;
            foreach (Container c in _containers)
            {
                bytes += (c.Lows?.LongLength ?? 0) * 2 + (c.Bitmap?.LongLength ?? 0) * 8 + (c.Ranks?.LongLength ?? 0) * 2
                    + (c.Kinds?.LongLength ?? 0) * 8;
            }
            return bytes;
        }
    }

    /// <summary>Builds a frozen copy of <paramref name="source"/>.</summary>
    public static FrozenKindIndex From(ChunkKindIndex source)
    {
        var builder = new Builder();
        source.CopyTo(builder);
        return builder.Build();
    }

    /// <summary>Returns whether <paramref name="chunk"/> is recorded, and its kind.</summary>
    public bool TryGet(long chunk, out PreservedKind kind)
    {
        kind = PreservedKind.Void;
        if (chunk < 0)
        {
            return false;
        }
        int i = Array.BinarySearch(_keys, chunk >> ContainerShift);
        if (i < 0)
        {
            return false;
        }
        Container c = _containers[i];
        int low = (int)(chunk & (ContainerChunks - 1));
        int rank;
        if (c.Lows != null)
        {
            rank = c.Lows.AsSpan().BinarySearch((ushort)low);
            if (rank < 0)
            {
                return false;
            }
        }
        else
        {
            ulong[] bitmap = c.Bitmap!;
            int w = low >> 6;
            ulong bit = 1UL << (low & 63);
            if ((bitmap[w] & bit) == 0)
            {
                return false;
            }
            rank = c.Ranks![w >> RankBlockShift] + BitOperations.PopCount(bitmap[w] & (bit - 1));
            for (int k = w & ~((1 << RankBlockShift) - 1); k < w; k++)
            {
                rank += BitOperations.PopCount(bitmap[k]);
            }
        }
        kind = c.KindAt(rank);
        return true;
    }

    /// <summary>Returns whether <paramref name="chunk"/> is recorded.</summary>
    public bool Contains(long chunk) => TryGet(chunk, out _);

    /// <summary>Appends every record to <paramref name="list"/>, in ascending chunk order.</summary>
    public void CopyTo(List<(long Chunk, PreservedKind Kind)> list)
    {
        list.EnsureCapacity(list.Count + (int)Math.Min(_count, int.MaxValue));
        var sink = new ListSink(list);
        Visit(ref sink);
    }

    /// <summary>Adds every record to <paramref name="target"/> (a chunk it records already keeps its kind).</summary>
    public void CopyTo(ChunkKindIndex target)
    {
        var sink = new IndexSink(target);
        Visit(ref sink);
    }

    /// <summary>Sets, in <paramref name="target"/>, the bit of every recorded chunk below its bit count.</summary>
    /// <remarks>Not atomic per bit: the caller owns <paramref name="target"/> while it is filled.</remarks>
    public void UnionInto(ChunkBitmap target)
    {
        ulong[] words = target.Words;
        long bits = target.Count;
        for (int i = 0; i < _containers.Length; i++)
        {
            long first = _keys[i] << ContainerShift;
            if (first >= bits)
            {
                break;
            }
            Container c = _containers[i];
            if (c.Lows != null)
            {
                foreach (ushort low in c.Lows)
                {
                    long chunk = first + low;
                    if (chunk >= bits)
                    {
                        break;
                    }
                    words[chunk >> 6] |= 1UL << (int)(chunk & 63);
                }
                continue;
            }
            long firstWord = first >> 6;
            int n = (int)Math.Min(BitmapWords, words.LongLength - firstWord);
            ulong[] bitmap = c.Bitmap!;
            for (int w = 0; w < n; w++)
            {
                words[firstWord + w] |= bitmap[w];
            }
            if (n > 0 && firstWord + n == words.LongLength && (bits & 63) != 0)
            {
                // Chunks past the target's end must not leak into its last word.
                words[^1] &= (1UL << (int)(bits & 63)) - 1;
            }
        }
    }

    private void Visit<TSink>(ref TSink sink)
        where TSink : struct, IRecordSink
    {
        for (int i = 0; i < _containers.Length; i++)
        {
            long first = _keys[i] << ContainerShift;
            Container c = _containers[i];
            if (c.Lows != null)
            {
                for (int r = 0; r < c.Lows.Length; r++)
                {
                    sink.Add(first + c.Lows[r], c.KindAt(r));
                }
                continue;
            }
            ulong[] bitmap = c.Bitmap!;
            int rank = 0;
            for (int w = 0; w < BitmapWords; w++)
            {
                ulong bits = bitmap[w];
                while (bits != 0)
                {
                    int b = BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    sink.Add(first + (w << 6) + b, c.KindAt(rank++));
                }
            }
        }
    }

    private interface IRecordSink
    {
        void Add(long chunk, PreservedKind kind);
    }

    private readonly struct ListSink : IRecordSink
    {
        private readonly List<(long Chunk, PreservedKind Kind)> _list;

        public ListSink(List<(long Chunk, PreservedKind Kind)> list) => _list = list;

        public void Add(long chunk, PreservedKind kind) => _list.Add((chunk, kind));
    }

    private readonly struct IndexSink : IRecordSink
    {
        private readonly ChunkKindIndex _index;

        public IndexSink(ChunkKindIndex index) => _index = index;

        public void Add(long chunk, PreservedKind kind) => _index.TryAdd(chunk, kind);
    }

    /// <summary>One container: the records whose chunks share <c>chunk &gt;&gt; 16</c>.</summary>
    private sealed class Container
    {
        /// <summary>The sorted low 16 bits of the records, when there are at most <see cref="MaxArrayLength"/>; else null.</summary>
        public ushort[]? Lows;

        /// <summary>Bit <c>low</c> set for each record, when <see cref="Lows"/> is null.</summary>
        public ulong[]? Bitmap;

        /// <summary>The number of records in the bitmap's words before each block of 8 words.</summary>
        public ushort[]? Ranks;

        /// <summary><c>kind - 1</c> of the record of rank r at bits 2r..2r+1 of word r / 32; null when every record
        /// has <see cref="Uniform"/>.</summary>
        public ulong[]? Kinds;

        /// <summary>The kind of every record when <see cref="Kinds"/> is null.</summary>
        public PreservedKind Uniform;

        public PreservedKind KindAt(int rank) =>
            Kinds == null ? Uniform : (PreservedKind)((int)((Kinds[rank >> 5] >> ((rank & 31) * 2)) & 3) + 1);
    }

    /// <summary>Collects records in strictly ascending chunk order and builds the frozen index.</summary>
    public sealed class Builder
    {
        private readonly List<long> _keys = new();
        private readonly List<Container> _containers = new();
        private readonly ushort[] _lows = new ushort[ContainerChunks];
        private readonly byte[] _kinds = new byte[ContainerChunks];
        private long _key = -1;
        private int _n;
        private long _last = -1;
        private long _count;

        /// <summary>Adds a record; chunks must be strictly ascending.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A chunk out of order or out of range, or a kind that is not
        /// data, zero, unmapped or excluded.</exception>
        public void Add(long chunk, PreservedKind kind)
        {
            if (chunk <= _last || chunk > MaxChunk)
            {
                throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"Chunks must be ascending (the last was {_last}) and at most 2^61 - 1.");
            }
            if (kind < PreservedKind.Data || kind > PreservedKind.Excluded)
            {
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only data, zero, unmapped and excluded chunks are indexed.");
            }
            long key = chunk >> ContainerShift;
            if (key != _key)
            {
                Close();
                _key = key;
            }
            _lows[_n] = (ushort)(chunk & (ContainerChunks - 1));
            _kinds[_n] = (byte)kind;
            _n++;
            _last = chunk;
            _count++;
        }

        /// <summary>Builds the index of the records added so far.</summary>
        public FrozenKindIndex Build()
        {
            Close();
            return _count == 0 ? Empty : new FrozenKindIndex(_keys.ToArray(), _containers.ToArray(), _count);
        }

        private void Close()
        {
            if (_n == 0)
            {
                return;
            }
            var c = new Container { Uniform = (PreservedKind)_kinds[0] };
            if (_n <= MaxArrayLength)
            {
                c.Lows = _lows.AsSpan(0, _n).ToArray();
            }
            else
            {
                var bitmap = new ulong[BitmapWords];
                for (int r = 0; r < _n; r++)
                {
                    bitmap[_lows[r] >> 6] |= 1UL << (_lows[r] & 63);
                }
                var ranks = new ushort[RankBlocks];
                int before = 0;
                for (int b = 0; b < RankBlocks; b++)
                {
                    // At most 127 * 512 records precede the last block, so a ushort holds every count.
                    ranks[b] = (ushort)before;
                    for (int w = b << RankBlockShift; w < (b + 1) << RankBlockShift; w++)
                    {
                        before += BitOperations.PopCount(bitmap[w]);
                    }
                }
                c.Bitmap = bitmap;
                c.Ranks = ranks;
            }
            if (_kinds.AsSpan(0, _n).IndexOfAnyExcept(_kinds[0]) >= 0)
            {
                var kinds = new ulong[(_n + 31) >> 5];
                for (int r = 0; r < _n; r++)
                {
                    kinds[r >> 5] |= (ulong)(_kinds[r] - 1) << ((r & 31) * 2);
                }
                c.Kinds = kinds;
            }
            _keys.Add(_key);
            _containers.Add(c);
            _n = 0;
        }
    }
}
