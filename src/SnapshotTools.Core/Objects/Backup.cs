using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools;

/// <summary>
/// A backup in a repository, as the module shows it (output of <c>Get-Backup</c> and <c>Export-Backup</c>). Its
/// <see cref="Repository"/> and <see cref="BackupId"/> bind by property name to the other backup cmdlets, so
/// <c>Get-Backup | Test-Backup</c> and <c>Export-Backup | Test-Backup</c> work.
/// </summary>
public sealed class Backup
{
    /// <summary>Gets the repository folder the backup is in.</summary>
    public required string Repository { get; init; }

    /// <summary>Gets the backup's id.</summary>
    public required Guid BackupId { get; init; }

    /// <summary>Gets the name of the volume the backup was taken from.</summary>
    public required string VolumeName { get; init; }

    /// <summary>Gets the volume id.</summary>
    public required Guid VolumeId { get; init; }

    /// <summary>Gets the volume generation.</summary>
    public required long Generation { get; init; }

    /// <summary>Gets whether the backup is full or incremental.</summary>
    public required BackupKind Kind { get; init; }

    /// <summary>Gets whether it is a synthetic full backup made by <c>Merge-Backup</c>.</summary>
    public required bool IsSynthetic { get; init; }

    /// <summary>Gets the backup an incremental applies on top of; null for a full backup.</summary>
    public Guid? BaseBackupId { get; init; }

    /// <summary>Gets the base snapshot's name; null for a full backup.</summary>
    public string? From { get; init; }

    /// <summary>Gets the name of the snapshot the backup reaches.</summary>
    public required string SnapshotName { get; init; }

    /// <summary>Gets the id of the snapshot the backup reaches.</summary>
    public required Guid SnapshotId { get; init; }

    /// <summary>Gets when the snapshot the backup reaches was taken: the point in time it restores.</summary>
    public required DateTimeOffset PointInTimeUtc { get; init; }

    /// <summary>Gets the volume size at that point in time.</summary>
    public required long VolumeSize { get; init; }

    /// <summary>Gets the bytes the stream file takes.</summary>
    public required long StreamBytes { get; init; }

    /// <summary>Gets the logical data bytes the stream carries (before compression).</summary>
    public required long DataBytes { get; init; }

    /// <summary>Gets the compression of the stream.</summary>
    public required StreamCompression Compression { get; init; }

    /// <summary>Gets whether the stream is encrypted; restoring it needs the key.</summary>
    public required bool Encrypted { get; init; }

    /// <summary>Gets when the backup was written.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>Gets the full path of the stream file.</summary>
    public required string StreamPath { get; init; }

    /// <summary>Gets the catalog entry as the engine records it.</summary>
    public required BackupInfo Info { get; init; }

    /// <summary>Describes a catalog entry of the repository in <paramref name="repository"/>.</summary>
    public static Backup Create(BackupInfo info, string repository)
    {
        ArgumentNullException.ThrowIfNull(info);
        string root = Path.GetFullPath(repository);
        return new Backup
        {
            Repository = root,
            BackupId = info.BackupId,
            VolumeName = info.VolumeName,
            VolumeId = info.VolumeId,
            Generation = info.Generation,
            Kind = info.Kind,
            IsSynthetic = info.IsSynthetic,
            BaseBackupId = info.BaseBackupId,
            From = info.FromSnapshotName,
            SnapshotName = info.ToSnapshotName,
            SnapshotId = info.ToSnapshotId,
            PointInTimeUtc = info.ToSnapshotCreatedUtc,
            VolumeSize = info.VolumeSize,
            StreamBytes = info.StreamBytes,
            DataBytes = info.DataBytes,
            Compression = info.Compression,
            Encrypted = info.Encrypted,
            CreatedUtc = info.CreatedUtc,
            StreamPath = Path.Combine(root, info.FileName.Replace('/', Path.DirectorySeparatorChar)),
            Info = info,
        };
    }

    /// <summary>Returns the backup id, so the object converts to a value <c>-BackupId</c> accepts.</summary>
    public override string ToString() => BackupId.ToString("D");
}
