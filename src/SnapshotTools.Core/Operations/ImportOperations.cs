using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Core;

/// <summary>The work of <c>Import-Backup</c>: applying a delta stream (a file, or a backup from a repository) to a volume.</summary>
public static class ImportOperations
{
    /// <summary>What an import did.</summary>
    /// <param name="Snapshot">The snapshot the stream reached, now on the target.</param>
    /// <param name="CreatedVolume">Whether the target volume was created by this import (a full stream into a new name).</param>
    /// <param name="ResumedAtRecord">The record an interrupted import resumed at, or 0.</param>
    /// <param name="DataBytes">The data bytes the stream carried.</param>
    public sealed record Outcome(VolumeSnapshot Snapshot, bool CreatedVolume, long ResumedAtRecord, long DataBytes);

    /// <summary>Returns whether the target already holds the snapshot with <paramref name="snapshotId"/> (so importing it again is a no-op).</summary>
    public static bool AlreadyImported(VolumeLocation target, Guid snapshotId)
    {
        if (!Volume.Exists(target.Path))
        {
            return false;
        }
        using Volume volume = VolumeOperations.Open(target);
        return volume.Snapshots.Any(s => s.Id == snapshotId);
    }

    /// <summary>
    /// Applies the stream in <paramref name="streamPath"/> to the volume at <paramref name="target"/>; a full stream into a
    /// folder with no volume creates it (continuing the source's lineage). The target is unchanged on any failure, and
    /// importing the same stream again after an interruption resumes it.
    /// </summary>
    /// <param name="target">The volume.</param>
    /// <param name="streamPath">The delta stream file.</param>
    /// <param name="rollbackTarget">Whether the target is first rolled back to the stream's base (discarding changes and younger snapshots there).</param>
    /// <param name="key">The key of an encrypted stream.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels; the target stays as it was.</param>
    /// <exception cref="SnapshotToolsException">CorruptStream, TruncatedStream, WrongKey, KeyRequired, ForeignVolume,
    /// GenerationMismatch, WrongBase, TargetModified, SizeMismatch, DuplicateImport, ImportPending, VolumeInUse, DiskFull, Cancelled.</exception>
    /// <exception cref="FileNotFoundException">The stream file does not exist.</exception>
    public static Outcome Import(VolumeLocation target, string streamPath, bool rollbackTarget, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(streamPath);
        var options = new ImportOptions { Key = key, Force = rollbackTarget };
        using var input = new FileStream(streamPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1024 * 1024, FileOptions.SequentialScan);
        return VolumeOperations.WrapCancel(() =>
        {
            if (!Volume.Exists(target.Path))
            {
                ImportResult created = DeltaImporter.ImportNew(target.Path, input, options, progress, cancellationToken);
                return new Outcome(VolumeSnapshot.Create(created.Snapshot, target.Name, target.Path), true, created.ResumedAtRecord, created.Summary.DataBytes);
            }
            using Volume volume = VolumeOperations.Open(target);
            ImportResult r = DeltaImporter.Import(volume, input, options, progress, cancellationToken);
            return new Outcome(VolumeSnapshot.Create(r.Snapshot, target.Name, target.Path), false, r.ResumedAtRecord, r.Summary.DataBytes);
        });
    }
}
