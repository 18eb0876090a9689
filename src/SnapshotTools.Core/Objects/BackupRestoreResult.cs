namespace SnapshotTools;

/// <summary>The outcome of restoring a point in time (output of <c>Restore-Backup</c>).</summary>
public sealed class BackupRestoreResult
{
    /// <summary>Gets the backup whose point in time was restored.</summary>
    public required Backup Backup { get; init; }

    /// <summary>Gets whether the target is a volume (else a raw image file).</summary>
    public required bool IsVolume { get; init; }

    /// <summary>Gets the volume folder or image file written.</summary>
    public required string Target { get; init; }

    /// <summary>Gets the restored volume (null for an image): pipe it to the volume cmdlets.</summary>
    public SnapshotVolume? Volume { get; init; }

    /// <summary>Gets the full path of the restored volume's folder, for binding to volume parameters; null for an image.</summary>
    public string? VolumePath => Volume?.VolumePath;

    /// <summary>Gets the size restored.</summary>
    public required long Size { get; init; }

    /// <summary>Gets how many backups of the chain were read.</summary>
    public required int BackupsRead { get; init; }

    /// <summary>Gets the data bytes written to the target.</summary>
    public required long DataBytesWritten { get; init; }
}
