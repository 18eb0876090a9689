namespace SnapshotTools.Core;

/// <summary>
/// Chooses backups the way <c>Get-Backup</c> does: by volume and snapshot name (wildcards), by id, by point in time,
/// and optionally only the newest backup of each volume at or before a moment (the one a point-in-time restore uses).
/// </summary>
public sealed class BackupFilter
{
    /// <summary>Gets volume name patterns; null or empty for all.</summary>
    public IReadOnlyList<string>? VolumeNames { get; init; }

    /// <summary>Gets snapshot name patterns; null or empty for all.</summary>
    public IReadOnlyList<string>? SnapshotNames { get; init; }

    /// <summary>Gets backup ids; null or empty for all.</summary>
    public IReadOnlyList<Guid>? BackupIds { get; init; }

    /// <summary>Gets the earliest point in time kept (inclusive).</summary>
    public DateTimeOffset? After { get; init; }

    /// <summary>Gets the latest point in time kept (inclusive).</summary>
    public DateTimeOffset? Before { get; init; }

    /// <summary>
    /// Gets a moment: when set, only the newest match of each volume whose point in time is at or before it is kept
    /// (shortest chain first among backups of the same snapshot, so a synthetic full wins).
    /// </summary>
    public DateTimeOffset? PointInTime { get; init; }

    /// <summary>Gets whether only the newest match of each volume is kept.</summary>
    public bool Latest { get; init; }

    /// <summary>Returns the matching backups in the order given (the catalog's: by volume, oldest point first).</summary>
    /// <exception cref="ArgumentException">A name pattern is not valid.</exception>
    public IReadOnlyList<Backup> Apply(IEnumerable<Backup> backups)
    {
        ArgumentNullException.ThrowIfNull(backups);
        var volumeMatchers = VolumeNames is { Count: > 0 } ? VolumeNames.Select(n => new WildcardMatcher(n)).ToArray() : null;
        var snapshotMatchers = SnapshotNames is { Count: > 0 } ? SnapshotNames.Select(n => new WildcardMatcher(n)).ToArray() : null;
        var ids = BackupIds is { Count: > 0 } ? new HashSet<Guid>(BackupIds) : null;
        var result = new List<Backup>();
        foreach (Backup b in backups)
        {
            if (volumeMatchers != null && !volumeMatchers.Any(m => m.IsMatch(b.VolumeName) || (Guid.TryParse(m.Pattern, out Guid id) && id == b.VolumeId)))
            {
                continue;
            }
            if (snapshotMatchers != null && !snapshotMatchers.Any(m => m.IsMatch(b.SnapshotName)))
            {
                continue;
            }
            if (ids != null && !ids.Contains(b.BackupId))
            {
                continue;
            }
            if (After is DateTimeOffset after && b.PointInTimeUtc < after)
            {
                continue;
            }
            if (Before is DateTimeOffset before && b.PointInTimeUtc > before)
            {
                continue;
            }
            if (PointInTime is DateTimeOffset at && b.PointInTimeUtc > at)
            {
                continue;
            }
            result.Add(b);
        }
        if (PointInTime == null && !Latest)
        {
            return result;
        }
        // Per volume, the newest point in time; among backups of that point, a full (synthetic) one beats an incremental,
        // then the most recently written.
        return result
            .GroupBy(b => b.VolumeId)
            .Select(g => g
                .OrderByDescending(b => b.Generation)
                .ThenByDescending(b => b.PointInTimeUtc)
                .ThenByDescending(b => b.Info.ToSequence)
                .ThenBy(b => b.Kind)
                .ThenByDescending(b => b.CreatedUtc)
                .First())
            .OrderBy(b => b.VolumeName, StringComparer.OrdinalIgnoreCase)
            .ToArray();
    }
}
