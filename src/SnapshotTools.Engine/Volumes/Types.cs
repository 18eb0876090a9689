namespace SnapshotTools.Engine;

/// <summary>A byte range: <see cref="Offset"/> and <see cref="Length"/> in bytes.</summary>
public readonly record struct ByteRange(long Offset, long Length)
{
    /// <summary>Gets the first byte after the range.</summary>
    public long End => Offset + Length;
}

/// <summary>How a protection map (byte ranges excluded from snapshots and deltas) is applied (seed 001).</summary>
public enum ProtectionMode
{
    /// <summary>Figures 7A/7B: excluded chunks are preserved like any other, but never served from a snapshot or sent in a delta.</summary>
    PreserveAndFilter = 0,
    /// <summary>Figures 8A/8B: chunks wholly excluded are not preserved at all (saving preservation space), nor served or sent.</summary>
    DoNotPreserve = 1,
}

/// <summary>The identity of a volume incarnation (seed 000): id, generation (bumped on re-create), size, chunk size.</summary>
public sealed record VolumeIdentity(Guid VolumeId, long Generation, long Size, int ChunkSize);

/// <summary>A read-only point-in-time view of a volume.</summary>
/// <param name="VolumeId">The volume the snapshot belongs to.</param>
/// <param name="Generation">The volume generation the snapshot was taken in.</param>
/// <param name="Id">The snapshot's unique id.</param>
/// <param name="Sequence">The snapshot's sequence number on the volume; larger is younger.</param>
/// <param name="Name">The snapshot's name, unique on the volume (case-insensitive).</param>
/// <param name="CreatedUtc">When the snapshot was taken.</param>
/// <param name="Size">The volume size at the time of the snapshot, in bytes.</param>
/// <param name="Description">An optional description.</param>
/// <param name="ProtectedRanges">The byte ranges excluded from this snapshot (read as zeros, never sent).</param>
public sealed record SnapshotInfo(
    Guid VolumeId,
    long Generation,
    Guid Id,
    long Sequence,
    string Name,
    DateTimeOffset CreatedUtc,
    long Size,
    string? Description,
    IReadOnlyList<ByteRange> ProtectedRanges);

/// <summary>Options for creating a volume.</summary>
public sealed class VolumeCreateOptions
{
    /// <summary>Gets or sets the size in bytes (required, &gt; 0).</summary>
    public long Size { get; set; }

    /// <summary>Gets or sets the chunk size: a power of two from 4 KiB to 1 MiB; default 64 KiB.</summary>
    public int ChunkSize { get; set; } = 64 * 1024;

    /// <summary>Gets or sets the display name; default: the folder name.</summary>
    public string? Name { get; set; }

    /// <summary>Gets or sets how excluded ranges are handled; default <see cref="ProtectionMode.PreserveAndFilter"/>.</summary>
    public ProtectionMode ProtectionMode { get; set; }

    /// <summary>
    /// Gets or sets whether an existing volume at the location is replaced. The new volume keeps the old volume id
    /// and gets the next generation, so snapshots and maps of the old incarnation are recognised as stale (seed 000).
    /// </summary>
    public bool Recreate { get; set; }

    /// <summary>
    /// Gets or sets the volume id to use instead of a new one: for a replication target that continues the lineage
    /// of its source (set by the importer of a full delta stream). Ignored when re-creating.
    /// </summary>
    public Guid? VolumeId { get; set; }

    /// <summary>Gets or sets the generation to use with <see cref="VolumeId"/>; default 1.</summary>
    public long? Generation { get; set; }
}

/// <summary>What opening a volume found and did about an earlier unclean shutdown.</summary>
public sealed record RecoveryReport(
    bool WasCleanShutdown,
    int DiscardedPreservationRecords,
    string? RollbackOutcome,
    IReadOnlyList<string> Messages);

/// <summary>Progress of a long operation.</summary>
public readonly record struct OperationProgress(string Activity, long Done, long Total)
{
    /// <summary>Gets the percentage done, 0 to 100.</summary>
    public int Percent => Total <= 0 ? 100 : (int)Math.Min(100, Done * 100 / Total);
}

/// <summary>The result of a rollback.</summary>
public sealed record RollbackResult(SnapshotInfo Snapshot, long ChunksRestored, long NewSize);
