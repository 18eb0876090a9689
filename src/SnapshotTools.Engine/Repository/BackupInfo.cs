using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>Whether a backup holds a whole snapshot or the changes since an earlier one.</summary>
public enum BackupKind
{
    /// <summary>Every byte of the snapshot (a full delta stream); restorable on its own.</summary>
    Full = 0,
    /// <summary>The changes from a base snapshot; restorable together with the backups it chains back to.</summary>
    Incremental = 1,
}

/// <summary>
/// One backup in a <see cref="BackupRepository"/>: a delta stream file and what the catalog records about it. Hashes
/// and ids are lower-case hexadecimal.
/// </summary>
public sealed record BackupInfo
{
    /// <summary>Gets the backup's id (also the name of its stream file).</summary>
    public required Guid BackupId { get; init; }

    /// <summary>Gets the id of the volume the backup was taken from.</summary>
    public required Guid VolumeId { get; init; }

    /// <summary>Gets the volume's display name when the backup was taken.</summary>
    public required string VolumeName { get; init; }

    /// <summary>Gets the volume generation (incremented when the volume is re-created).</summary>
    public required long Generation { get; init; }

    /// <summary>Gets whether the backup is full or incremental.</summary>
    public required BackupKind Kind { get; init; }

    /// <summary>Gets the backup an incremental applies on top of (the one reaching its base snapshot); null for a full backup.</summary>
    public Guid? BaseBackupId { get; init; }

    /// <summary>Gets the base snapshot's id; null for a full backup.</summary>
    public Guid? FromSnapshotId { get; init; }

    /// <summary>Gets the base snapshot's name; null for a full backup.</summary>
    public string? FromSnapshotName { get; init; }

    /// <summary>Gets the id of the snapshot the backup reaches (its point in time).</summary>
    public required Guid ToSnapshotId { get; init; }

    /// <summary>Gets the name of the snapshot the backup reaches.</summary>
    public required string ToSnapshotName { get; init; }

    /// <summary>Gets the snapshot's sequence number on the source volume.</summary>
    public long ToSequence { get; init; }

    /// <summary>Gets when the snapshot the backup reaches was taken: the backup's point in time (used by retention).</summary>
    public required DateTimeOffset ToSnapshotCreatedUtc { get; init; }

    /// <summary>Gets the snapshot's description.</summary>
    public string? ToSnapshotDescription { get; init; }

    /// <summary>Gets the volume's chunk size.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>Gets the volume size at the base snapshot (0 for a full backup).</summary>
    public long FromSize { get; init; }

    /// <summary>Gets the volume size at the snapshot the backup reaches.</summary>
    public required long VolumeSize { get; init; }

    /// <summary>Gets the length of the stream file in bytes.</summary>
    public required long StreamBytes { get; init; }

    /// <summary>Gets the logical bytes carried by DATA records (before compression).</summary>
    public required long DataBytes { get; init; }

    /// <summary>Gets the bytes described as zero.</summary>
    public long ZeroBytes { get; init; }

    /// <summary>Gets the bytes described as unmapped.</summary>
    public long UnmappedBytes { get; init; }

    /// <summary>Gets the number of records in the stream, HEADER and END included.</summary>
    public long Records { get; init; }

    /// <summary>Gets the SHA-256 over the stream's logical content, as carried in its END record.</summary>
    public required string ContentSha256 { get; init; }

    /// <summary>Gets the stream id: SHA-256 of the stream's HEADER record.</summary>
    public required string StreamId { get; init; }

    /// <summary>Gets the compression of the stream's DATA records.</summary>
    public StreamCompression Compression { get; init; }

    /// <summary>Gets whether the stream is encrypted (AES-256-GCM); restoring it needs the key.</summary>
    public bool Encrypted { get; init; }

    /// <summary>Gets the non-secret id of the key an encrypted stream was written with (first 16 bytes of its SHA-256 tag), or null.</summary>
    public string? KeyId { get; init; }

    /// <summary>Gets when the backup was written.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>Gets, for a synthetic full backup made by <see cref="BackupRepository.Merge"/>, the backup whose chain it merges; else null.</summary>
    public Guid? MergedFrom { get; init; }

    /// <summary>Gets the stream file's path relative to the repository folder (forward slashes).</summary>
    public required string FileName { get; init; }

    /// <summary>Gets whether this is a synthetic full backup made by merging a chain.</summary>
    public bool IsSynthetic => MergedFrom != null;
}
