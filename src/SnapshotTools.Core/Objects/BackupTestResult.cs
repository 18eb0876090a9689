namespace SnapshotTools;

/// <summary>The outcome of verifying one backup (output of <c>Test-Backup</c>).</summary>
public sealed class BackupTestResult
{
    /// <summary>Gets the repository folder.</summary>
    public required string Repository { get; init; }

    /// <summary>Gets the backup verified.</summary>
    public required Guid BackupId { get; init; }

    /// <summary>Gets the volume's name, when the catalog knows the backup.</summary>
    public string? VolumeName { get; init; }

    /// <summary>Gets the name of the snapshot the backup reaches, when known.</summary>
    public string? SnapshotName { get; init; }

    /// <summary>Gets whether no problem was found.</summary>
    public required bool IsValid { get; init; }

    /// <summary>Gets what is wrong, one sentence each; empty when the backup is sound.</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Gets what was not checked and why.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Gets the records read and verified.</summary>
    public required long RecordsRead { get; init; }

    /// <summary>Gets the bytes of the stream file read.</summary>
    public required long BytesRead { get; init; }

    /// <summary>Gets the bytes compared with the snapshot on the volume (deep mode).</summary>
    public required long BytesCompared { get; init; }

    /// <summary>Gets whether the deep comparison ran.</summary>
    public required bool DeepCompared { get; init; }
}
