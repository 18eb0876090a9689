using System.Numerics;

namespace SnapshotTools.Engine.Maps;

/// <summary>A bitmap over chunk indexes, thread-safe for concurrent setting and clearing of bits.</summary>
internal sealed class ChunkBitmap
{
    private ulong[] _words;

    public ChunkBitmap(long bits)
    {
        Count = bits;
        _words = new ulong[WordsFor(bits)];
    }

    public ChunkBitmap(long bits, ulong[] words)
    {
        if (words.Length != WordsFor(bits))
        {
            throw new ArgumentException("Word count does not match bit count.", nameof(words));
        }
        Count = bits;
        _words = words;
    }

    public long Count { get; private set; }

    public ulong[] Words => _words;

    public static long WordsFor(long bits) => (bits + 63) >> 6;

    public bool Get(long bit) => (Volatile.Read(ref _words[bit >> 6]) & (1UL << (int)(bit & 63))) != 0;

    public void Set(long bit)
    {
        ulong mask = 1UL << (int)(bit & 63);
        ref ulong w = ref _words[bit >> 6];
        if ((Volatile.Read(ref w) & mask) == 0)
        {
            Interlocked.Or(ref w, mask);
        }
    }

    public void Clear(long bit)
    {
        ulong mask = 1UL << (int)(bit & 63);
        ref ulong w = ref _words[bit >> 6];
        if ((Volatile.Read(ref w) & mask) != 0)
        {
            Interlocked.And(ref w, ~mask);
        }
    }

    public void Assign(long bit, bool value)
    {
        if (value)
        {
            Set(bit);
        }
        else
        {
            Clear(bit);
        }
    }

    /// <summary>Sets bits [first, end).</summary>
    public void SetRange(long first, long end)
    {
        for (long b = first; b < end; b++)
        {
            if ((b & 63) == 0 && b + 64 <= end)
            {
                _words[b >> 6] = ulong.MaxValue;
                b += 63;
                continue;
            }
            Set(b);
        }
    }

    /// <summary>Changes the bit count; new bits are clear, bits past the new count are dropped.</summary>
    public void Resize(long bits)
    {
        ulong[] words = new ulong[WordsFor(bits)];
        Array.Copy(_words, words, Math.Min(words.Length, _words.Length));
        if ((bits & 63) != 0 && words.Length > 0)
        {
            words[^1] &= (1UL << (int)(bits & 63)) - 1;
        }
        _words = words;
        Count = bits;
    }

    /// <summary>Returns the index of the first set bit at or after <paramref name="from"/>, or -1.</summary>
    public long NextSet(long from)
    {
        if (from >= Count)
        {
            return -1;
        }
        long wi = from >> 6;
        ulong w = _words[wi] & (ulong.MaxValue << (int)(from & 63));
        while (true)
        {
            if (w != 0)
            {
                long bit = (wi << 6) + BitOperations.TrailingZeroCount(w);
                return bit < Count ? bit : -1;
            }
            wi++;
            if (wi >= _words.Length)
            {
                return -1;
            }
            w = _words[wi];
        }
    }

    public long PopCount()
    {
        long n = 0;
        foreach (ulong w in _words)
        {
            n += BitOperations.PopCount(w);
        }
        return n;
    }
}
