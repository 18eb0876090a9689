using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>The snapshot commands' work (New/Get/Rename/Remove/Restore/Compare-VolumeSnapshot), behind the cmdlets.</summary>
public static class SnapshotOperations
{
    /// <summary>Takes a snapshot of the live volume.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, NameInUse, InvalidArgument (empty name), DiskFull.</exception>
    public static VolumeSnapshot Create(VolumeLocation location, string name, string? description)
    {
        using Volume volume = VolumeOperations.Open(location);
        SnapshotInfo info = volume.CreateSnapshot(name, description);
        return VolumeSnapshot.Create(info, location.Name, location.Path);
    }

    /// <summary>Lists the snapshots <paramref name="filter"/> chooses, oldest first, and the literal names it did not find.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse.</exception>
    /// <exception cref="ArgumentException">A name pattern is not valid.</exception>
    public static IReadOnlyList<VolumeSnapshot> Get(VolumeLocation location, SnapshotFilter filter, out IReadOnlyList<string> missing)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using Volume volume = VolumeOperations.Open(location);
        IReadOnlyList<SnapshotInfo> all = volume.Snapshots;
        missing = filter.Missing(all);
        return filter.Apply(all).Select(s => VolumeSnapshot.Create(s, location.Name, location.Path)).ToArray();
    }

    /// <summary>Finds one snapshot by name or id.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot.</exception>
    public static VolumeSnapshot Find(VolumeLocation location, string nameOrId)
    {
        using Volume volume = VolumeOperations.Open(location);
        return VolumeSnapshot.Create(volume.GetSnapshot(nameOrId), location.Name, location.Path);
    }

    /// <summary>Renames a snapshot.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, NameInUse, InvalidArgument.</exception>
    public static VolumeSnapshot Rename(VolumeLocation location, string nameOrId, string newName)
    {
        using Volume volume = VolumeOperations.Open(location);
        return VolumeSnapshot.Create(volume.RenameSnapshot(nameOrId, newName), location.Name, location.Path);
    }

    /// <summary>Deletes a snapshot; the others read exactly as before.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, DiskFull, Cancelled (nothing is deleted).</exception>
    public static void Remove(VolumeLocation location, string nameOrId, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using Volume volume = VolumeOperations.Open(location);
        VolumeOperations.WrapCancel(() =>
        {
            volume.DeleteSnapshot(nameOrId, progress, cancellationToken);
            return 0;
        });
    }

    /// <summary>
    /// Rolls the live volume back to a snapshot. Not cancellable on purpose: a rollback stopped halfway leaves the volume
    /// a mix of old and new chunks until it is repeated, so once started it runs to the end.
    /// </summary>
    /// <returns>The volume after the rollback and the number of chunks rewritten.</returns>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, DiskFull.</exception>
    public static (SnapshotVolume Volume, long ChunksRestored) Rollback(VolumeLocation location, string nameOrId, IProgress<OperationProgress>? progress)
    {
        using Volume volume = VolumeOperations.Open(location);
        RollbackResult result = volume.Rollback(nameOrId, progress, CancellationToken.None);
        volume.Flush();
        return (SnapshotVolume.Create(volume, location.Name), result.ChunksRestored);
    }

    /// <summary>Compares two snapshots (or a snapshot and the live volume) byte for byte; see <see cref="SnapshotComparer"/>.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, Cancelled.</exception>
    public static SnapshotComparison Compare(VolumeLocation location, string reference, string? difference, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using Volume volume = VolumeOperations.Open(location);
        return VolumeOperations.WrapCancel(() => SnapshotComparer.Compare(volume, location, reference, difference, progress, cancellationToken));
    }
}
