using SnapshotTools.Engine.Maps;

namespace SnapshotTools.Engine;

/// <summary>Change maps: the chunks written between two snapshots or since a snapshot.</summary>
public sealed partial class Volume
{
    /// <summary>
    /// Returns the change map of the interval from snapshot <paramref name="from"/> to snapshot <paramref name="to"/>
    /// (null: the live volume, a map valid at the moment it is taken).
    /// </summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot, wrong order, or closed.</exception>
    public ChangeMap GetChangeMap(string from, string? to = null)
    {
        ArgumentNullException.ThrowIfNull(from);
        EnterRead();
        try
        {
            int fromIndex = Find(from);
            int toIndex = to == null ? _snapshots.Count : Find(to);
            if (fromIndex >= toIndex)
            {
                throw SnapshotToolsException.Order(_snapshots[fromIndex].Info.Name, to ?? "live");
            }
            long fromSize = _snapshots[fromIndex].Info.Size;
            long toSize = toIndex == _snapshots.Count ? _size : _snapshots[toIndex].Info.Size;
            ChunkBitmap bits = BuildChangeBits(fromIndex, toIndex, fromSize, toSize);
            long toSequence = toIndex == _snapshots.Count ? 0 : _snapshots[toIndex].Info.Sequence;
            return new ChangeMap(_volumeId, _generation, _chunkSize, _snapshots[fromIndex].Info.Sequence, toSequence, fromSize, toSize, bits);
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>
    /// The union of the change maps of snapshots fromIndex..toIndex-1 over the chunks of <paramref name="toSize"/>,
    /// plus the chunks a size change affects. Cost: the number of records. Caller holds the structure lock.
    /// </summary>
    private ChunkBitmap BuildChangeBits(int fromIndex, int toIndex, long fromSize, long toSize)
    {
        long toChunks = ChunkCountFor(toSize);
        var changed = new ChunkBitmap(toChunks);
        for (int k = fromIndex; k < toIndex; k++)
        {
            _snapshots[k].Log.UnionInto(changed);
        }
        ChangeMap.MarkResized(changed, fromSize, toSize, _chunkSize);
        return changed;
    }
}
