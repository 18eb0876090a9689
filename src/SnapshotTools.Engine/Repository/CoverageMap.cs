using System.Numerics;

namespace SnapshotTools.Engine.Repository;

/// <summary>
/// The bytes of a restore target already written from a newer backup of the chain. Restoring scans the chain newest
/// first and writes only what this map does not cover yet, so each byte is written once, from its newest version.
/// Whole chunks are one bit each; the rare partly covered chunk (a record clipped by a protection map or by a volume
/// size that is not a multiple of the chunk size) keeps its covered byte ranges.
/// </summary>
internal sealed class CoverageMap
{
    private readonly long _size;
    private readonly int _chunkSize;
    private readonly int _shift;
    private readonly ulong[] _full;
    private readonly Dictionary<long, List<ByteRange>> _partial = new();

    public CoverageMap(long size, int chunkSize)
    {
        if (chunkSize <= 0 || (chunkSize & (chunkSize - 1)) != 0)
        {
            throw SnapshotToolsException.Invalid("chunk size", $"{chunkSize} is not a power of two");
        }
        _size = size;
        _chunkSize = chunkSize;
        _shift = BitOperations.Log2((uint)chunkSize);
        long chunks = (size + chunkSize - 1) >> _shift;
        _full = new ulong[(chunks + 63) >> 6];
    }

    /// <summary>Gets the number of bytes covered so far.</summary>
    public long CoveredBytes { get; private set; }

    /// <summary>Gets whether every byte of the target is covered (older backups then have nothing left to give).</summary>
    public bool IsComplete => CoveredBytes >= _size;

    /// <summary>
    /// Marks [<paramref name="offset"/>, +<paramref name="length"/>) covered (clipped to the size) and appends to
    /// <paramref name="newlyCovered"/> the parts that were not covered before, in ascending order, adjacent parts merged.
    /// </summary>
    public void Claim(long offset, long length, List<ByteRange> newlyCovered)
    {
        long end = Math.Min(_size, offset + length);
        if (offset < 0 || offset >= end)
        {
            return;
        }
        long first = offset >> _shift;
        long last = (end - 1) >> _shift;
        for (long c = first; c <= last; c++)
        {
            ulong mask = 1UL << (int)(c & 63);
            if ((_full[c >> 6] & mask) != 0)
            {
                // Skip the rest of a fully covered word at once.
                if ((c & 63) == 0 && _full[c >> 6] == ulong.MaxValue)
                {
                    c += 63;
                }
                continue;
            }
            long cs = c << _shift;
            long ce = Math.Min(cs + _chunkSize, _size);
            long a = Math.Max(offset, cs);
            long b = Math.Min(end, ce);
            if (_partial.TryGetValue(c, out List<ByteRange>? covered))
            {
                long pos = a;
                foreach (ByteRange r in covered)
                {
                    if (r.End <= pos)
                    {
                        continue;
                    }
                    if (r.Offset >= b)
                    {
                        break;
                    }
                    if (r.Offset > pos)
                    {
                        Emit(newlyCovered, pos, r.Offset);
                    }
                    pos = Math.Max(pos, r.End);
                }
                if (pos < b)
                {
                    Emit(newlyCovered, pos, b);
                }
                Insert(covered, a, b);
                if (covered.Count == 1 && covered[0].Offset <= cs && covered[0].End >= ce)
                {
                    _partial.Remove(c);
                    _full[c >> 6] |= mask;
                }
            }
            else
            {
                Emit(newlyCovered, a, b);
                if (a == cs && b == ce)
                {
                    _full[c >> 6] |= mask;
                }
                else
                {
                    _partial[c] = new List<ByteRange> { new(a, b - a) };
                }
            }
        }
    }

    private void Emit(List<ByteRange> output, long a, long b)
    {
        CoveredBytes += b - a;
        if (output.Count > 0 && output[^1].End == a)
        {
            output[^1] = new ByteRange(output[^1].Offset, b - output[^1].Offset);
        }
        else
        {
            output.Add(new ByteRange(a, b - a));
        }
    }

    /// <summary>Adds [a, b) to a sorted list of disjoint ranges, merging overlaps and neighbours.</summary>
    private static void Insert(List<ByteRange> ranges, long a, long b)
    {
        int i = 0;
        while (i < ranges.Count && ranges[i].End < a)
        {
            i++;
        }
        long start = a;
        long stop = b;
        while (i < ranges.Count && ranges[i].Offset <= stop)
        {
            start = Math.Min(start, ranges[i].Offset);
            stop = Math.Max(stop, ranges[i].End);
            ranges.RemoveAt(i);
        }
        ranges.Insert(i, new ByteRange(start, stop - start));
    }
}
