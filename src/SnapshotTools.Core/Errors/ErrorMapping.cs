using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Maps failures to error ids and categories. Engine failures take their id from the <see cref="SnapshotErrorCode"/>
/// name (so <c>Should -Throw -ErrorId 'UnknownSnapshot,SnapshotTools.Commands.GetVolumeSnapshotCommand'</c> is stable);
/// other exceptions get a fixed id per kind.
/// </summary>
public static class ErrorMapping
{
    /// <summary>Returns the category of an engine error code.</summary>
    public static ModuleErrorCategory CategoryOf(SnapshotErrorCode code) => code switch
    {
        SnapshotErrorCode.OutOfRange => ModuleErrorCategory.InvalidArgument,
        SnapshotErrorCode.UnknownSnapshot => ModuleErrorCategory.ObjectNotFound,
        SnapshotErrorCode.NameInUse => ModuleErrorCategory.ResourceExists,
        SnapshotErrorCode.VolumeInUse => ModuleErrorCategory.ResourceBusy,
        SnapshotErrorCode.CorruptMetadata => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.GenerationMismatch => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.SizeMismatch => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.DiskFull => ModuleErrorCategory.WriteError,
        SnapshotErrorCode.VolumeNotFound => ModuleErrorCategory.ObjectNotFound,
        SnapshotErrorCode.VolumeExists => ModuleErrorCategory.ResourceExists,
        SnapshotErrorCode.InvalidArgument => ModuleErrorCategory.InvalidArgument,
        SnapshotErrorCode.InvalidSnapshotOrder => ModuleErrorCategory.InvalidArgument,
        SnapshotErrorCode.ForeignVolume => ModuleErrorCategory.InvalidArgument,
        SnapshotErrorCode.VolumeClosed => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.Cancelled => ModuleErrorCategory.OperationStopped,
        SnapshotErrorCode.IoFailure => ModuleErrorCategory.DeviceError,
        SnapshotErrorCode.UnsupportedFormat => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.CorruptStream => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.TruncatedStream => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.WrongBase => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.TargetModified => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.DuplicateImport => ModuleErrorCategory.ResourceExists,
        SnapshotErrorCode.WrongKey => ModuleErrorCategory.AuthenticationError,
        SnapshotErrorCode.KeyRequired => ModuleErrorCategory.AuthenticationError,
        SnapshotErrorCode.MissingLink => ModuleErrorCategory.ObjectNotFound,
        SnapshotErrorCode.RepositoryInUse => ModuleErrorCategory.ResourceBusy,
        SnapshotErrorCode.UnknownBackup => ModuleErrorCategory.ObjectNotFound,
        SnapshotErrorCode.ImportPending => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.InvalidPolicy => ModuleErrorCategory.InvalidData,
        SnapshotErrorCode.RepositoryNotFound => ModuleErrorCategory.ObjectNotFound,
        SnapshotErrorCode.DuplicateBackup => ModuleErrorCategory.ResourceExists,
        SnapshotErrorCode.BackupHasDependents => ModuleErrorCategory.InvalidOperation,
        SnapshotErrorCode.TargetExists => ModuleErrorCategory.ResourceExists,
        _ => ModuleErrorCategory.NotSpecified,
    };

    /// <summary>Describes <paramref name="exception"/> as an error record's id, category and message.</summary>
    public static ModuleError Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }
        (string id, ModuleErrorCategory category) = exception switch
        {
            SnapshotToolsException ste => (ste.Code.ToString(), CategoryOf(ste.Code)),
            OperationCanceledException => (nameof(SnapshotErrorCode.Cancelled), ModuleErrorCategory.OperationStopped),
            FileNotFoundException => ("FileNotFound", ModuleErrorCategory.ObjectNotFound),
            DirectoryNotFoundException => ("DirectoryNotFound", ModuleErrorCategory.ObjectNotFound),
            UnauthorizedAccessException => ("PermissionDenied", ModuleErrorCategory.PermissionDenied),
            System.Security.SecurityException => ("PermissionDenied", ModuleErrorCategory.PermissionDenied),
            EndOfStreamException => (nameof(SnapshotErrorCode.TruncatedStream), ModuleErrorCategory.InvalidData),
            InvalidDataException => ("InvalidData", ModuleErrorCategory.InvalidData),
            PathTooLongException => (nameof(SnapshotErrorCode.InvalidArgument), ModuleErrorCategory.InvalidArgument),
            ArgumentException => (nameof(SnapshotErrorCode.InvalidArgument), ModuleErrorCategory.InvalidArgument),
            ObjectDisposedException => (nameof(SnapshotErrorCode.VolumeClosed), ModuleErrorCategory.InvalidOperation),
            IOException io when IsDiskFull(io) => (nameof(SnapshotErrorCode.DiskFull), ModuleErrorCategory.WriteError),
            IOException => (nameof(SnapshotErrorCode.IoFailure), ModuleErrorCategory.DeviceError),
            NotSupportedException => ("NotSupported", ModuleErrorCategory.NotImplemented),
            InvalidOperationException => ("InvalidOperation", ModuleErrorCategory.InvalidOperation),
            _ => ("UnexpectedError", ModuleErrorCategory.NotSpecified),
        };
        return new ModuleError(id, category, exception.Message, exception);
    }

    private static bool IsDiskFull(IOException ex)
    {
        int code = ex.HResult & 0xFFFF;
        return code == 28 || code == 112 || code == 39 || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);
    }
}
