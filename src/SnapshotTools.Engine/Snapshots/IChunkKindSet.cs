using SnapshotTools.Engine.Maps;

namespace SnapshotTools.Engine.Snapshots;

/// <summary>
/// The reads a preservation log makes of its in-memory chunk → kind index, whichever form it has: mutable
/// (<see cref="ChunkKindIndex"/>, the newest snapshot's) or frozen (<see cref="FrozenKindIndex"/>, the older ones').
/// </summary>
internal interface IChunkKindSet
{
    /// <summary>Gets the number of chunks recorded.</summary>
    long Count { get; }

    /// <summary>Gets the bytes of the arrays held (for tests and measurements).</summary>
    long AllocatedBytes { get; }

    /// <summary>Returns whether <paramref name="chunk"/> is recorded, and its kind.</summary>
    bool TryGet(long chunk, out PreservedKind kind);

    /// <summary>Returns whether <paramref name="chunk"/> is recorded.</summary>
    bool Contains(long chunk);

    /// <summary>Appends every (chunk, kind) to <paramref name="list"/>, in ascending chunk order.</summary>
    void CopyTo(List<(long Chunk, PreservedKind Kind)> list);

    /// <summary>Sets, in <paramref name="target"/>, the bit of every recorded chunk below its bit count.</summary>
    void UnionInto(ChunkBitmap target);
}
