namespace SnapshotTools.Engine;

/// <summary>
/// The one exception type the engine throws for expected failures. <see cref="Code"/> says what went wrong; the
/// message says it for a person, naming the volume, snapshot, file or range involved.
/// </summary>
public sealed class SnapshotToolsException : IOException
{
    /// <summary>Initializes a new instance with a code and a message.</summary>
    public SnapshotToolsException(SnapshotErrorCode code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>Gets the stable error code.</summary>
    public SnapshotErrorCode Code { get; }

    /// <summary>Gets the stable error id derived from the code, e.g. <c>SnapshotTools.UnknownSnapshot</c>.</summary>
    public string ErrorId => "SnapshotTools." + Code;

    internal static SnapshotToolsException OutOfRange(long offset, long length, long size, string what) =>
        new(SnapshotErrorCode.OutOfRange,
            $"The range at offset {offset} with length {length} is outside {what} (size {size} bytes).");

    internal static SnapshotToolsException UnknownSnapshot(string nameOrId, string volume) =>
        new(SnapshotErrorCode.UnknownSnapshot, $"Volume '{volume}' has no snapshot '{nameOrId}'.");

    internal static SnapshotToolsException NameInUse(string name, string volume) =>
        new(SnapshotErrorCode.NameInUse, $"Volume '{volume}' already has a snapshot named '{name}'.");

    internal static SnapshotToolsException VolumeInUse(string volume, Exception? inner = null) =>
        new(SnapshotErrorCode.VolumeInUse,
            $"Volume '{volume}' is in use: another process or handle has it open for writing.", inner);

    internal static SnapshotToolsException Corrupt(string where, string detail) =>
        new(SnapshotErrorCode.CorruptMetadata, $"Corrupt metadata in {where}: {detail}.");

    internal static SnapshotToolsException GenerationMismatch(string volume, long expected, long actual) =>
        new(SnapshotErrorCode.GenerationMismatch,
            $"Volume '{volume}' was re-created: the snapshot belongs to generation {expected}, the volume is at generation {actual}. " +
            "Allow a full copy to continue.");

    internal static SnapshotToolsException SizeMismatch(string what, long expected, long actual) =>
        new(SnapshotErrorCode.SizeMismatch, $"{what}: expected size {expected} bytes, found {actual} bytes.");

    internal static SnapshotToolsException DiskFull(string volume, Exception inner) =>
        new(SnapshotErrorCode.DiskFull,
            $"The disk holding volume '{volume}' is full; the operation was not applied. Free space and retry.", inner);

    internal static SnapshotToolsException VolumeNotFound(string location) =>
        new(SnapshotErrorCode.VolumeNotFound, $"No volume exists at '{location}'.");

    internal static SnapshotToolsException VolumeExists(string location) =>
        new(SnapshotErrorCode.VolumeExists, $"A volume already exists at '{location}'.");

    internal static SnapshotToolsException Invalid(string paramName, string detail) =>
        new(SnapshotErrorCode.InvalidArgument, $"Invalid {paramName}: {detail}.");

    internal static SnapshotToolsException Order(string from, string to) =>
        new(SnapshotErrorCode.InvalidSnapshotOrder,
            $"Snapshot '{from}' must be older than '{to}' for a differential.");

    internal static SnapshotToolsException Foreign(string volume, Guid expected, Guid actual) =>
        new(SnapshotErrorCode.ForeignVolume,
            $"The snapshot belongs to volume {actual}, not to volume '{volume}' ({expected}).");

    internal static SnapshotToolsException Closed(string volume) =>
        new(SnapshotErrorCode.VolumeClosed, $"Volume '{volume}' is closed.");

    internal static SnapshotToolsException Unsupported(string where, int version) =>
        new(SnapshotErrorCode.UnsupportedFormat,
            $"{where} has format version {version}, which this version of SnapshotTools cannot read.");

    /// <summary>True when an I/O exception means the disk is full (ENOSPC, ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL).</summary>
    internal static bool IsDiskFull(Exception ex)
    {
        if (ex is SnapshotToolsException ste)
        {
            return ste.Code == SnapshotErrorCode.DiskFull;
        }
        if (ex is not IOException)
        {
            return false;
        }
        int code = ex.HResult & 0xFFFF;
        return code == 28 || code == 112 || code == 39 || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);
    }
}
