namespace SnapshotTools.Engine.Maps;

/// <summary>An immutable, sorted set of disjoint, non-adjacent byte ranges (the protection map).</summary>
internal sealed class RangeSet
{
    public static readonly RangeSet Empty = new(Array.Empty<ByteRange>());

    private readonly ByteRange[] _ranges;

    private RangeSet(ByteRange[] ranges) => _ranges = ranges;

    public IReadOnlyList<ByteRange> Ranges => _ranges;

    public bool IsEmpty => _ranges.Length == 0;

    /// <summary>Sorts and merges ranges; empty ranges are dropped.</summary>
    public static RangeSet Create(IEnumerable<ByteRange> ranges)
    {
        var list = new List<ByteRange>();
        foreach (ByteRange r in ranges)
        {
            if (r.Offset < 0 || r.Length < 0)
            {
                throw SnapshotToolsException.Invalid("range", $"offset {r.Offset} length {r.Length}");
            }
            if (r.Length > 0)
            {
                list.Add(r);
            }
        }
        list.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var merged = new List<ByteRange>(list.Count);
        foreach (ByteRange r in list)
        {
            if (merged.Count > 0 && r.Offset <= merged[^1].End)
            {
                ByteRange last = merged[^1];
                merged[^1] = new ByteRange(last.Offset, Math.Max(last.End, r.End) - last.Offset);
            }
            else
            {
                merged.Add(r);
            }
        }
        return merged.Count == 0 ? Empty : new RangeSet(merged.ToArray());
    }

    /// <summary>True when [offset, offset+length) lies wholly inside the set.</summary>
    public bool Covers(long offset, long length)
    {
        int i = FindFirstEndingAfter(offset);
        return i < _ranges.Length && _ranges[i].Offset <= offset && _ranges[i].End >= offset + length;
    }

    /// <summary>True when [offset, offset+length) overlaps the set.</summary>
    public bool Overlaps(long offset, long length)
    {
        int i = FindFirstEndingAfter(offset);
        return i < _ranges.Length && _ranges[i].Offset < offset + length;
    }

    /// <summary>Zeroes the bytes of <paramref name="buffer"/> (which starts at volume offset <paramref name="offset"/>) inside the set.</summary>
    public void Mask(long offset, Span<byte> buffer)
    {
        long end = offset + buffer.Length;
        for (int i = FindFirstEndingAfter(offset); i < _ranges.Length && _ranges[i].Offset < end; i++)
        {
            long a = Math.Max(offset, _ranges[i].Offset);
            long b = Math.Min(end, _ranges[i].End);
            buffer.Slice((int)(a - offset), (int)(b - a)).Clear();
        }
    }

    /// <summary>Returns the parts of [offset, offset+length) outside the set, in order.</summary>
    public void Subtract(long offset, long length, List<ByteRange> output)
    {
        long pos = offset;
        long end = offset + length;
        for (int i = FindFirstEndingAfter(offset); i < _ranges.Length && _ranges[i].Offset < end && pos < end; i++)
        {
            if (_ranges[i].Offset > pos)
            {
                output.Add(new ByteRange(pos, _ranges[i].Offset - pos));
            }
            pos = Math.Max(pos, _ranges[i].End);
        }
        if (pos < end)
        {
            output.Add(new ByteRange(pos, end - pos));
        }
    }

    /// <summary>Returns the ranges present in both sets.</summary>
    public RangeSet Intersect(RangeSet other)
    {
        var result = new List<ByteRange>();
        int i = 0;
        int j = 0;
        while (i < _ranges.Length && j < other._ranges.Length)
        {
            long a = Math.Max(_ranges[i].Offset, other._ranges[j].Offset);
            long b = Math.Min(_ranges[i].End, other._ranges[j].End);
            if (a < b)
            {
                result.Add(new ByteRange(a, b - a));
            }
            if (_ranges[i].End < other._ranges[j].End)
            {
                i++;
            }
            else
            {
                j++;
            }
        }
        return Create(result);
    }

    private int FindFirstEndingAfter(long offset)
    {
        int lo = 0;
        int hi = _ranges.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (_ranges[mid].End <= offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
