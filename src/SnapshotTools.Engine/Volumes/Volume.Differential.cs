using SnapshotTools.Engine.Maps;
using SnapshotTools.Engine.Snapshots;

namespace SnapshotTools.Engine;

/// <summary>Computing differentials (the changed set); the extent stream itself is <see cref="VolumeDelta"/>.</summary>
public sealed partial class Volume
{
    /// <summary>Returns the delta between two snapshots named by name or id; <paramref name="to"/> null means live.</summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, wrong order, or closed.</exception>
    public VolumeDelta GetDelta(string? from, string? to, DeltaOptions? options = null)
    {
        EnterRead();
        try
        {
            SnapshotInfo? f = from == null ? null : _snapshots[Find(from)].Info;
            SnapshotInfo? t = to == null ? null : _snapshots[Find(to)].Info;
            return GetDeltaCore(f, t, options ?? new DeltaOptions());
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>
    /// Returns the delta from <paramref name="from"/> (null: full) to <paramref name="to"/> (null: live). A base from
    /// an earlier generation or one no longer retained is refused, or, with <see cref="DeltaOptions.AllowFull"/>,
    /// answered with a full delta that says why (seed 000; seed 002 C1 "Q not retained").
    /// </summary>
    /// <exception cref="SnapshotToolsException">Foreign volume, generation mismatch, unknown snapshot, wrong order, or closed.</exception>
    public VolumeDelta GetDelta(SnapshotInfo? from, SnapshotInfo? to, DeltaOptions? options = null)
    {
        options ??= new DeltaOptions();
        EnterRead();
        try
        {
            SnapshotInfo? t = to == null ? null : _snapshots[Find(to)].Info;
            SnapshotInfo? f = null;
            string? reason = null;
            if (from != null)
            {
                try
                {
                    f = _snapshots[Find(from)].Info;
                }
                catch (SnapshotToolsException ex) when (options.AllowFull && ex.Code is SnapshotErrorCode.GenerationMismatch or SnapshotErrorCode.UnknownSnapshot)
                {
                    reason = ex.Code == SnapshotErrorCode.GenerationMismatch
                        ? $"the base snapshot '{from.Name}' belongs to generation {from.Generation}; the volume was re-created (generation {_generation})"
                        : $"the base snapshot '{from.Name}' no longer exists on the volume";
                }
            }
            return GetDeltaCore(f, t, options, reason);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Builds the changed set. Caller holds the structure lock.</summary>
    private VolumeDelta GetDeltaCore(SnapshotInfo? from, SnapshotInfo? to, DeltaOptions options, string? fullReason = null)
    {
        int toIndex = to == null ? _snapshots.Count : _snapshots.FindIndex(s => s.Info.Id == to.Id);
        long toSize = to?.Size ?? _size;
        RangeSet excluded = to == null ? _protected : _snapshots[toIndex].Protected;
        if (from == null)
        {
            long toChunks = ChunkCountFor(toSize);
            var all = new ChunkBitmap(toChunks);
            all.SetRange(0, toChunks);
            return new VolumeDelta(this, null, to, 0, toSize, true, fullReason, all, excluded);
        }
        int fromIndex = _snapshots.FindIndex(s => s.Info.Id == from.Id);
        if (fromIndex >= toIndex)
        {
            throw SnapshotToolsException.Order(from.Name, to?.Name ?? "live");
        }
        ChunkBitmap changed = BuildChangeBits(fromIndex, toIndex, from.Size, toSize);
        // The older side reads zeros where its protection map excluded bytes; where the newer side no longer excludes
        // them they differ from the older image even if no write touched them since, so they must be sent.
        var pieces = new List<ByteRange>();
        foreach (ByteRange r in _snapshots[fromIndex].Protected.Ranges)
        {
            pieces.Clear();
            excluded.Subtract(r.Offset, r.Length, pieces);
            foreach (ByteRange p in pieces)
            {
                if (p.Offset < toSize)
                {
                    changed.SetRange(p.Offset >> _chunkShift, ChunkCountFor(Math.Min(p.End, toSize)));
                }
            }
        }
        return new VolumeDelta(this, from, to, from.Size, toSize, false, null, changed, excluded);
    }

    /// <summary>Resolves the kinds of <paramref name="chunks"/> as of <paramref name="to"/> (null: live).</summary>
    internal void KindsAsOf(SnapshotInfo? to, ReadOnlySpan<long> chunks, ExtentKind[] kinds)
    {
        EnterRead();
        try
        {
            int index = to == null ? _snapshots.Count : Find(to);
            for (int i = 0; i < chunks.Length; i++)
            {
                PreservedKind k = KindAsOf(index, chunks[i]);
                kinds[i] = k switch
                {
                    PreservedKind.Data => ExtentKind.Data,
                    PreservedKind.Zero => ExtentKind.Zero,
                    _ => ExtentKind.Unmapped,
                };
            }
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }
}
