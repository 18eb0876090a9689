namespace SnapshotTools.Engine;

/// <summary>
/// The stable error codes of the engine. Each value maps to one kind of failure; callers (the module, the CLI)
/// derive their error ids from the names, so names are never reused for another meaning.
/// </summary>
public enum SnapshotErrorCode
{
    /// <summary>An I/O request lies (partly) outside the volume or snapshot.</summary>
    OutOfRange = 1,
    /// <summary>No snapshot with the given name or id exists on the volume.</summary>
    UnknownSnapshot = 2,
    /// <summary>A snapshot with the given name already exists on the volume.</summary>
    NameInUse = 3,
    /// <summary>Another process (or another handle in this process) has the volume open.</summary>
    VolumeInUse = 4,
    /// <summary>Metadata or preserved data failed its checksum or is structurally invalid.</summary>
    CorruptMetadata = 5,
    /// <summary>A snapshot or map belongs to an earlier incarnation (generation) of the volume.</summary>
    GenerationMismatch = 6,
    /// <summary>A snapshot or map records a different volume size than expected.</summary>
    SizeMismatch = 7,
    /// <summary>The disk is full; the operation failed before changing anything visible.</summary>
    DiskFull = 8,
    /// <summary>No volume exists at the given location.</summary>
    VolumeNotFound = 9,
    /// <summary>A volume already exists at the given location.</summary>
    VolumeExists = 10,
    /// <summary>An argument is invalid (bad chunk size, empty name, ...).</summary>
    InvalidArgument = 11,
    /// <summary>The two snapshots of a differential are in the wrong order or identical.</summary>
    InvalidSnapshotOrder = 12,
    /// <summary>The snapshot or map belongs to a different volume (volume id differs).</summary>
    ForeignVolume = 13,
    /// <summary>The volume handle was closed.</summary>
    VolumeClosed = 14,
    /// <summary>The operation was cancelled.</summary>
    Cancelled = 15,
    /// <summary>An unexpected I/O failure from the underlying storage.</summary>
    IoFailure = 16,
    /// <summary>The store was written by a newer, unknown format version.</summary>
    UnsupportedFormat = 17,
    /// <summary>A delta stream failed a checksum or is structurally invalid.</summary>
    CorruptStream = 18,
    /// <summary>A delta stream ended before its END record.</summary>
    TruncatedStream = 19,
    /// <summary>An incremental stream's base snapshot is not the target's newest snapshot.</summary>
    WrongBase = 20,
    /// <summary>The target volume changed since the stream's base snapshot.</summary>
    TargetModified = 21,
    /// <summary>The stream was already imported: its snapshot exists on the target.</summary>
    DuplicateImport = 22,
    /// <summary>The decryption key does not match the stream's key.</summary>
    WrongKey = 23,
    /// <summary>The stream is encrypted and no key was given, or a key was given for a plain stream.</summary>
    KeyRequired = 24,
    /// <summary>A backup chain lacks a link (an incremental whose base is missing).</summary>
    MissingLink = 25,
    /// <summary>The backup repository is locked by another writer.</summary>
    RepositoryInUse = 26,
    /// <summary>No backup with the given id exists.</summary>
    UnknownBackup = 27,
    /// <summary>An interrupted import is pending on the volume; resume it (import the same stream) or abort it.</summary>
    ImportPending = 28,
    /// <summary>A retention policy or configuration file is invalid.</summary>
    InvalidPolicy = 29,
    /// <summary>No backup repository exists at the given location.</summary>
    RepositoryNotFound = 30,
    /// <summary>The repository already holds a backup of the same snapshots (same base and same target snapshot).</summary>
    DuplicateBackup = 31,
    /// <summary>Other backups depend on the backup (it is the base of their chain), so it cannot be removed alone.</summary>
    BackupHasDependents = 32,
    /// <summary>The file or folder a restore should create already exists.</summary>
    TargetExists = 33,
}
