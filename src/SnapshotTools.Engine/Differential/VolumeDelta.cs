using System.Collections;
using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>
/// The differential between two points of a volume: the extents that differ from <see cref="From"/> to
/// <see cref="To"/> (or the live volume), with their kind and data as of the newer side (seed 002 FIG. 34/40, seed 000
/// extent lists). Enumerating it is lazy and yields extents in ascending offset order, adjacent extents of one kind
/// merged. A delta may over-report (a chunk rewritten with its old value is listed); it never misses a change.
/// </summary>
/// <remarks>
/// The changed set is the union of the change maps (preservation indexes) of the snapshots from <see cref="From"/>
/// up to but excluding <see cref="To"/>, gathered into one bitmap when the delta is made: its cost is the number of
/// changed chunks, not the volume size or the number of unchanged chunks. Space the volume grew by counts as changed.
/// Chunks not in use as of the newer side are reported as <see cref="ExtentKind.Zero"/> or
/// <see cref="ExtentKind.Unmapped"/>, never read; ranges excluded by the newer side's protection map are left out.
/// </remarks>
public sealed class VolumeDelta : IEnumerable<DeltaExtent>
{
    private readonly Volume _volume;
    private readonly ChunkBitmap _changed;
    private readonly RangeSet _excluded;

    internal VolumeDelta(Volume volume, SnapshotInfo? from, SnapshotInfo? to, long fromSize, long toSize, bool isFull, string? fullReason, ChunkBitmap changed, RangeSet excluded)
    {
        _volume = volume;
        From = from;
        To = to;
        FromSize = fromSize;
        ToSize = toSize;
        IsFull = isFull;
        FullReason = fullReason;
        _changed = changed;
        _excluded = excluded;
        ChangedChunks = changed.PopCount();
    }

    /// <summary>Gets the volume id.</summary>
    public Guid VolumeId => _volume.VolumeId;

    /// <summary>Gets the volume's display name.</summary>
    public string VolumeName => _volume.Name;

    /// <summary>Gets the volume generation.</summary>
    public long Generation => _volume.Generation;

    /// <summary>Gets the older side, or null for a full delta.</summary>
    public SnapshotInfo? From { get; }

    /// <summary>Gets the newer side, or null for the live volume.</summary>
    public SnapshotInfo? To { get; }

    /// <summary>Gets the size of the older side (0 for a full delta).</summary>
    public long FromSize { get; }

    /// <summary>Gets the size of the newer side; a consumer resizes its copy to it.</summary>
    public long ToSize { get; }

    /// <summary>Gets the chunk size of the volume.</summary>
    public int ChunkSize => _volume.ChunkSize;

    /// <summary>Gets whether this is a full copy (every chunk of the newer side) rather than an incremental.</summary>
    public bool IsFull { get; }

    /// <summary>Gets why a full copy was made instead of the incremental asked for, or null.</summary>
    public string? FullReason { get; }

    /// <summary>Gets the number of chunks in the changed set.</summary>
    public long ChangedChunks { get; }

    /// <summary>Reads data of the newer side at <paramref name="offset"/> (use it for <see cref="ExtentKind.Data"/> extents).</summary>
    /// <exception cref="SnapshotToolsException">The newer snapshot was deleted meanwhile, or its data is corrupt.</exception>
    public void ReadData(long offset, Span<byte> buffer)
    {
        if (To == null)
        {
            _volume.Read(offset, buffer);
        }
        else
        {
            _volume.ReadSnapshot(To, offset, buffer);
        }
    }

    /// <summary>Counts data, zero and unmapped bytes by enumerating the delta.</summary>
    public (long DataBytes, long ZeroBytes, long UnmappedBytes, long Extents) Summarize()
    {
        long data = 0;
        long zero = 0;
        long unmapped = 0;
        long extents = 0;
        foreach (DeltaExtent e in this)
        {
            extents++;
            switch (e.Kind)
            {
                case ExtentKind.Data:
                    data += e.Length;
                    break;
                case ExtentKind.Zero:
                    zero += e.Length;
                    break;
                default:
                    unmapped += e.Length;
                    break;
            }
        }
        return (data, zero, unmapped, extents);
    }

    /// <inheritdoc />
    public IEnumerator<DeltaExtent> GetEnumerator()
    {
        var kinds = new ExtentKind[256];
        var chunks = new long[256];
        var pieces = new List<ByteRange>();
        long next = 0;
        bool pending = false;
        DeltaExtent current = default;
        while (true)
        {
            // Resolve a batch of changed chunks under one lock acquisition.
            int n = 0;
            while (n < chunks.Length)
            {
                long c = _changed.NextSet(next);
                if (c < 0)
                {
                    break;
                }
                chunks[n++] = c;
                next = c + 1;
            }
            if (n == 0)
            {
                break;
            }
            _volume.KindsAsOf(To, chunks.AsSpan(0, n), kinds);
            for (int i = 0; i < n; i++)
            {
                long start = chunks[i] * ChunkSize;
                long length = Math.Min(ChunkSize, ToSize - start);
                if (pending && current.Kind == kinds[i] && current.End == start)
                {
                    current = current with { Length = current.Length + length };
                    continue;
                }
                if (pending)
                {
                    foreach (DeltaExtent e in Clip(current, pieces))
                    {
                        yield return e;
                    }
                }
                current = new DeltaExtent(start, length, kinds[i]);
                pending = true;
            }
        }
        if (pending)
        {
            foreach (DeltaExtent e in Clip(current, pieces))
            {
                yield return e;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private List<DeltaExtent> Clip(DeltaExtent extent, List<ByteRange> pieces)
    {
        var result = new List<DeltaExtent>(1);
        if (_excluded.IsEmpty)
        {
            result.Add(extent);
            return result;
        }
        pieces.Clear();
        _excluded.Subtract(extent.Offset, extent.Length, pieces);
        foreach (ByteRange r in pieces)
        {
            result.Add(new DeltaExtent(r.Offset, r.Length, extent.Kind));
        }
        return result;
    }
}
