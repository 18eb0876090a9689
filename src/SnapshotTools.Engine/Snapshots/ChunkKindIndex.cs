using System.Numerics;
using SnapshotTools.Engine.Maps;

namespace SnapshotTools.Engine.Snapshots;

/// <summary>
/// The in-memory index of one preservation log: chunk index -> <see cref="PreservedKind"/> (data, zero, unmapped,
/// excluded; absent = not preserved). Not thread-safe: the owning log serializes access.
/// </summary>
/// <remarks>
/// Two representations, chosen by size. While few chunks are recorded it is <b>sparse</b>: an open-addressing hash
/// table of <c>ulong</c> slots, each <c>chunk &lt;&lt; 2 | (kind - 1)</c> (8 bytes a slot, load factor 3/8 to 3/4,
/// so 11 to 21 bytes a record). Once a bitmap over chunks 0..max would be smaller it switches, for good, to
/// <b>dense</b>: three bit planes over the chunks (present, kind bit 0, kind bit 1), 3 bits a chunk (6 MiB per TiB at
/// 64 KiB chunks) whatever the number of records.
/// </remarks>
internal sealed class ChunkKindIndex : IChunkKindSet
{
    private const ulong EmptySlot = ulong.MaxValue;
    private const int MinSlots = 16;
    // The sparse key shifts the chunk left by 2; dense arrays are indexed by chunk / 64. Chunks beyond these stay
    // sparse (far larger than any volume in practice).
    private const long MaxChunk = (1L << 61) - 1;
    private const long MaxDenseChunk = (1L << 36) - 1;

    private readonly long _denseLimitWords;

    // Sparse form (null when dense).
    private ulong[]? _slots;
    private int _shift;

    // Dense form (null when sparse): bit c of _present says chunk c is recorded; its kind - 1 is (_hi:_lo) bit c.
    private ulong[]? _present;
    private ulong[]? _lo;
    private ulong[]? _hi;

    private long _count;
    private long _maxChunk = -1;

    /// <summary>Initializes an empty index.</summary>
    /// <param name="expectedChunks">The number of chunks records are expected to lie below (the snapshot's chunk
    /// count): the dense form does not grow past it ahead of need. Chunks at or past it are still accepted.</param>
    public ChunkKindIndex(long expectedChunks = long.MaxValue)
    {
        _denseLimitWords = ChunkBitmap.WordsFor(Math.Clamp(expectedChunks, 1, MaxDenseChunk + 1));
        _slots = NewSlots(MinSlots);
        _shift = 64 - BitOperations.Log2(MinSlots);
    }

    /// <summary>Gets the number of chunks recorded.</summary>
    public long Count => _count;

    /// <summary>Gets whether the dense (bit plane) form is in use.</summary>
    public bool IsDense => _present != null;

    /// <summary>Gets the bytes of the arrays the index holds (object headers excluded).</summary>
    public long AllocatedBytes => _slots != null ? _slots.LongLength * 8 : _present!.LongLength * 8 * 3;

    /// <summary>Returns whether <paramref name="chunk"/> is recorded, and its kind.</summary>
    public bool TryGet(long chunk, out PreservedKind kind)
    {
        kind = PreservedKind.Void;
        if (chunk < 0)
        {
            return false;
        }
        if (_slots != null)
        {
            if (chunk > MaxChunk)
            {
                return false;
            }
            int mask = _slots.Length - 1;
            for (int i = Home(chunk); ; i = (i + 1) & mask)
            {
                ulong s = _slots[i];
                if (s == EmptySlot)
                {
                    return false;
                }
                if ((long)(s >> 2) == chunk)
                {
                    kind = (PreservedKind)((int)(s & 3) + 1);
                    return true;
                }
            }
        }
        long w = chunk >> 6;
        if (w >= _present!.Length)
        {
            return false;
        }
        ulong bit = 1UL << (int)(chunk & 63);
        if ((_present[w] & bit) == 0)
        {
            return false;
        }
        int code = ((_lo![w] & bit) != 0 ? 1 : 0) | ((_hi![w] & bit) != 0 ? 2 : 0);
        kind = (PreservedKind)(code + 1);
        return true;
    }

    /// <summary>Returns whether <paramref name="chunk"/> is recorded.</summary>
    public bool Contains(long chunk) => TryGet(chunk, out _);

    /// <summary>Records <paramref name="chunk"/> as <paramref name="kind"/> unless it is recorded already (the first
    /// record of a chunk wins).</summary>
    /// <returns>True when added; false when the chunk was recorded already (its kind is left as it was).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative chunk, or a kind that is not data, zero, unmapped or excluded.</exception>
    public bool TryAdd(long chunk, PreservedKind kind)
    {
        if (chunk < 0 || chunk > MaxChunk)
        {
            throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "A chunk index must be between 0 and 2^61 - 1.");
        }
        if (kind < PreservedKind.Data || kind > PreservedKind.Excluded)
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only data, zero, unmapped and excluded chunks are indexed.");
        }
        if (Contains(chunk))
        {
            return false;
        }
        if (_slots != null && (_count + 1) * 4 > (long)_slots.Length * 3)
        {
            GrowSparse(Math.Max(chunk, _maxChunk));
        }
        if (_slots != null)
        {
            InsertSparse(_slots, _shift, ((ulong)chunk << 2) | (ulong)(kind - 1));
        }
        else
        {
            SetDense(chunk, kind);
        }
        _count++;
        _maxChunk = Math.Max(_maxChunk, chunk);
        return true;
    }

    /// <summary>Appends every record to <paramref name="list"/>, in ascending chunk order.</summary>
    public void CopyTo(List<(long Chunk, PreservedKind Kind)> list)
    {
        list.EnsureCapacity(list.Count + (int)Math.Min(_count, int.MaxValue));
        if (_slots != null)
        {
            // A slot's value orders as its chunk (the chunk is the high bits), so sorting the values sorts by chunk.
            var values = new ulong[_count];
            int n = 0;
            foreach (ulong s in _slots)
            {
                if (s != EmptySlot)
                {
                    values[n++] = s;
                }
            }
            Array.Sort(values);
            foreach (ulong s in values)
            {
                list.Add(((long)(s >> 2), (PreservedKind)((int)(s & 3) + 1)));
            }
            return;
        }
        for (long w = 0; w < _present!.Length; w++)
        {
            ulong bits = _present[w];
            while (bits != 0)
            {
                int b = BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                ulong bit = 1UL << b;
                int code = ((_lo![w] & bit) != 0 ? 1 : 0) | ((_hi![w] & bit) != 0 ? 2 : 0);
                list.Add(((w << 6) + b, (PreservedKind)(code + 1)));
            }
        }
    }

    /// <summary>Adds every record to <paramref name="builder"/>, in ascending chunk order.</summary>
    public void CopyTo(FrozenKindIndex.Builder builder)
    {
        if (_slots != null)
        {
            var values = new ulong[_count];
            int n = 0;
            foreach (ulong s in _slots)
            {
                if (s != EmptySlot)
                {
                    values[n++] = s;
                }
            }
            Array.Sort(values);
            foreach (ulong s in values)
            {
                builder.Add((long)(s >> 2), (PreservedKind)((int)(s & 3) + 1));
            }
            return;
        }
        for (long w = 0; w < _present!.Length; w++)
        {
            ulong bits = _present[w];
            while (bits != 0)
            {
                int b = BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                ulong bit = 1UL << b;
                int code = ((_lo![w] & bit) != 0 ? 1 : 0) | ((_hi![w] & bit) != 0 ? 2 : 0);
                builder.Add((w << 6) + b, (PreservedKind)(code + 1));
            }
        }
    }

    /// <summary>Sets, in <paramref name="target"/>, the bit of every recorded chunk below its bit count.</summary>
    public void UnionInto(ChunkBitmap target)
    {
        if (_slots != null)
        {
            foreach (ulong s in _slots)
            {
                if (s != EmptySlot && (long)(s >> 2) < target.Count)
                {
                    target.Set((long)(s >> 2));
                }
            }
            return;
        }
        ulong[] words = target.Words;
        long n = Math.Min(words.LongLength, _present!.LongLength);
        for (long w = 0; w < n; w++)
        {
            words[w] |= _present[w];
        }
        if ((target.Count & 63) != 0 && n == words.LongLength && n > 0)
        {
            // Chunks past the target's end must not leak into its last word.
            words[n - 1] &= (1UL << (int)(target.Count & 63)) - 1;
        }
    }

    private int Home(long chunk) => (int)(((ulong)chunk * 0x9E3779B97F4A7C15UL) >> _shift);

    private static ulong[] NewSlots(int length)
    {
        var slots = new ulong[length];
        Array.Fill(slots, EmptySlot);
        return slots;
    }

    private static void InsertSparse(ulong[] slots, int shift, ulong value)
    {
        long chunk = (long)(value >> 2);
        int mask = slots.Length - 1;
        for (int i = (int)(((ulong)chunk * 0x9E3779B97F4A7C15UL) >> shift); ; i = (i + 1) & mask)
        {
            if (slots[i] == EmptySlot)
            {
                slots[i] = value;
                return;
            }
        }
    }

    /// <summary>Doubles the hash table, or moves to the dense form when that is no larger than the doubled table.</summary>
    private void GrowSparse(long maxChunk)
    {
        ulong[] old = _slots!;
        long newLength = (long)old.Length * 2;
        long denseWords = ChunkBitmap.WordsFor(maxChunk + 1);
        if (maxChunk <= MaxDenseChunk && denseWords * 3 * 8 <= newLength * 8)
        {
            _present = new ulong[denseWords];
            _lo = new ulong[denseWords];
            _hi = new ulong[denseWords];
            _slots = null;
            foreach (ulong s in old)
            {
                if (s != EmptySlot)
                {
                    SetDense((long)(s >> 2), (PreservedKind)((int)(s & 3) + 1));
                }
            }
            return;
        }
        if (newLength > Array.MaxLength)
        {
            throw new InvalidOperationException("The preservation index is full.");
        }
        var slots = NewSlots((int)newLength);
        int shift = 64 - BitOperations.Log2((ulong)newLength);
        foreach (ulong s in old)
        {
            if (s != EmptySlot)
            {
                InsertSparse(slots, shift, s);
            }
        }
        _slots = slots;
        _shift = shift;
    }

    private void SetDense(long chunk, PreservedKind kind)
    {
        long w = chunk >> 6;
        if (w >= _present!.Length)
        {
            if (chunk > MaxDenseChunk)
            {
                throw new InvalidOperationException($"Chunk {chunk} is beyond the range of a dense preservation index.");
            }
            // Grow by half again (amortized O(1) for ascending appends), but not past the expected chunk count.
            long grown = Math.Max(w + 1, _present.LongLength + _present.LongLength / 2);
            long length = Math.Max(w + 1, Math.Min(grown, _denseLimitWords));
            Array.Resize(ref _present, (int)length);
            Array.Resize(ref _lo, (int)length);
            Array.Resize(ref _hi, (int)length);
        }
        ulong bit = 1UL << (int)(chunk & 63);
        int code = kind - PreservedKind.Data;
        _present[w] |= bit;
        if ((code & 1) != 0)
        {
            _lo![w] |= bit;
        }
        if ((code & 2) != 0)
        {
            _hi![w] |= bit;
        }
    }
}
