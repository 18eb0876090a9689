using System.Buffers;
using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Byte-for-byte comparison of two points of a volume. The differential between them lists every range that may
/// differ (it may over-report, never under-report), so only those ranges are read, from both sides, and compared:
/// the cost follows the changes, not the volume size, and the answer is exact.
/// </summary>
public static class SnapshotComparer
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>Compares <paramref name="reference"/> with <paramref name="difference"/> (null: the live volume); the order does not matter.</summary>
    /// <exception cref="SnapshotToolsException">UnknownSnapshot; InvalidArgument when both name the same snapshot.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static SnapshotComparison Compare(Volume volume, VolumeLocation location, string reference, string? difference, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(reference);
        SnapshotInfo refInfo = volume.GetSnapshot(reference);
        SnapshotInfo? diffInfo = difference == null ? null : volume.GetSnapshot(difference);
        if (diffInfo != null && diffInfo.Id == refInfo.Id)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, $"Invalid snapshots: -ReferenceSnapshot and -DifferenceSnapshot both name '{refInfo.Name}'.");
        }
        // The differential runs from the older side to the newer one (the live volume is the newest).
        bool swapped = diffInfo != null && diffInfo.Sequence < refInfo.Sequence;
        SnapshotInfo older = swapped ? diffInfo! : refInfo;
        SnapshotInfo? newer = swapped ? refInfo : diffInfo;
        long olderSize = older.Size;
        VolumeDelta delta = volume.GetDelta(older, newer, new DeltaOptions { AllowFull = true });
        long newerSize = delta.ToSize;
        long common = Math.Min(olderSize, newerSize);
        var extents = new List<DeltaExtent>();
        long candidate = 0;
        foreach (DeltaExtent e in delta)
        {
            extents.Add(e);
            candidate += e.Length;
        }
        var ranges = new List<ByteRange>();
        bool truncated = false;
        long different = 0;
        long done = 0;
        byte[] a = ArrayPool<byte>.Shared.Rent(BufferSize);
        byte[] b = ArrayPool<byte>.Shared.Rent(BufferSize);
        string activity = $"Comparing '{refInfo.Name}' with '{diffInfo?.Name ?? "live"}'";
        try
        {
            foreach (DeltaExtent e in extents)
            {
                long end = Math.Min(e.End, common);
                for (long pos = e.Offset; pos < end;)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int n = (int)Math.Min(BufferSize, end - pos);
                    Span<byte> oldBytes = a.AsSpan(0, n);
                    Span<byte> newBytes = b.AsSpan(0, n);
                    volume.ReadSnapshot(older, pos, oldBytes);
                    if (e.Kind == ExtentKind.Data)
                    {
                        delta.ReadData(pos, newBytes);
                    }
                    else
                    {
                        newBytes.Clear();
                    }
                    different += Diff(oldBytes, newBytes, pos, ranges, ref truncated);
                    pos += n;
                    done += n;
                    progress?.Report(new OperationProgress(activity, done, candidate));
                }
                done += Math.Max(0, e.End - Math.Max(end, e.Offset));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
        }
        progress?.Report(new OperationProgress(activity, candidate, candidate));
        return new SnapshotComparison
        {
            VolumeName = location.Name,
            VolumePath = location.Path,
            Reference = refInfo.Name,
            Difference = diffInfo?.Name,
            ReferenceSize = refInfo.Size,
            DifferenceSize = diffInfo?.Size ?? volume.Size,
            CandidateBytes = candidate,
            DifferentBytes = different,
            DifferentRanges = ranges,
            RangesTruncated = truncated,
        };
    }

    /// <summary>Counts the bytes that differ and appends their ranges (merged with the previous one when adjacent).</summary>
    internal static long Diff(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, long offset, List<ByteRange> ranges, ref bool truncated)
    {
        const int Sector = 512;
        long count = 0;
        for (int s = 0; s < x.Length; s += Sector)
        {
            int len = Math.Min(Sector, x.Length - s);
            ReadOnlySpan<byte> xs = x.Slice(s, len);
            ReadOnlySpan<byte> ys = y.Slice(s, len);
            if (xs.SequenceEqual(ys))
            {
                continue;
            }
            for (int i = 0; i < len; i++)
            {
                if (xs[i] == ys[i])
                {
                    continue;
                }
                count++;
                long at = offset + s + i;
                if (ranges.Count > 0 && ranges[^1].End == at)
                {
                    ranges[^1] = ranges[^1] with { Length = ranges[^1].Length + 1 };
                }
                else if (ranges.Count < SnapshotComparison.RangeLimit)
                {
                    ranges.Add(new ByteRange(at, 1));
                }
                else
                {
                    truncated = true;
                }
            }
        }
        return count;
    }
}
