using System.Globalization;

namespace SnapshotTools.Engine.Repository;

/// <summary>Retention: planning which backups a policy keeps, and removing the rest.</summary>
/// <remarks>
/// Per volume, the points in time are the snapshots its restorable backups reach, newest first. The rules select
/// points (keep-last the newest N; keep-daily the newest point of each of the N most recent days that have one; weekly,
/// monthly and yearly alike). A selected point is represented by its backup with the shortest chain (a synthetic full
/// beats the incremental it was merged from), and every backup of that backup's chain is kept with it: a backup that a
/// kept one depends on is never removed. Backups whose chain is already broken are kept and flagged (retention does not
/// guess about them). Everything else is removed.
/// </remarks>
public sealed partial class BackupRepository
{
    /// <summary>Works out what <paramref name="policy"/> keeps and removes, without changing anything.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="volumeId">Limits the plan to one volume; null plans for every volume (each on its own).</param>
    /// <returns>The preview, to show and then to pass to <see cref="ApplyRetention"/>.</returns>
    public RetentionPlan PlanRetention(RetentionPolicy policy, Guid? volumeId = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ThrowIfDisposed();
        lock (_gate)
        {
            var reasons = new Dictionary<Guid, List<string>>();
            var keep = new HashSet<Guid>();
            var all = _catalog.Entries.Where(e => volumeId == null || e.VolumeId == volumeId).ToList();
            foreach (IGrouping<Guid, BackupInfo> volume in all.GroupBy(e => e.VolumeId))
            {
                PlanVolume(policy, volume.ToList(), keep, reasons);
            }
            var decisions = new List<RetentionDecision>();
            foreach (BackupInfo b in all.OrderBy(e => e.VolumeId).ThenBy(e => e.Generation).ThenBy(e => e.ToSnapshotCreatedUtc).ThenBy(e => e.ToSequence).ThenBy(e => e.CreatedUtc))
            {
                bool kept = keep.Contains(b.BackupId);
                IReadOnlyList<string> why = reasons.TryGetValue(b.BackupId, out List<string>? r) ? r : new List<string> { "not selected by any rule, and no kept backup needs it" };
                decisions.Add(new RetentionDecision(b, kept, why));
            }
            return new RetentionPlan(_catalog.RepositoryId, policy, volumeId, decisions);
        }
    }

    /// <summary>
    /// Removes the backups <paramref name="plan"/> marks for removal (catalog first, atomically, then the files). Before
    /// anything is removed the plan is checked against the catalog as it is now: a backup added since that depends on one
    /// the plan removes stops the whole operation.
    /// </summary>
    /// <returns>The backups removed (those already gone are skipped).</returns>
    /// <exception cref="SnapshotToolsException">InvalidArgument (a plan of another repository; read-only handle),
    /// BackupHasDependents (the catalog changed since the plan was made; make a new plan), DiskFull.</exception>
    public IReadOnlyList<BackupInfo> ApplyRetention(RetentionPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ThrowIfReadOnly();
        lock (_gate)
        {
            if (plan.RepositoryId != _catalog.RepositoryId)
            {
                throw SnapshotToolsException.Invalid("retention plan", $"it was made for repository {plan.RepositoryId}, not for '{_root}' ({_catalog.RepositoryId})");
            }
            var victims = plan.ToRemove.Where(b => _catalog.Entries.Any(e => e.BackupId == b.BackupId)).ToList();
            var ids = new HashSet<Guid>(victims.Select(v => v.BackupId));
            foreach (BackupInfo e in _catalog.Entries)
            {
                if (!ids.Contains(e.BackupId) && e.BaseBackupId is Guid b && ids.Contains(b))
                {
                    BackupInfo victim = victims.First(v => v.BackupId == b);
                    throw new SnapshotToolsException(SnapshotErrorCode.BackupHasDependents,
                        $"The catalog changed since the retention plan was made: backup {e.BackupId} ('{e.ToSnapshotName}') now depends on backup {b} ('{victim.ToSnapshotName}'), which the plan removes. Nothing was removed; make a new plan.");
                }
            }
            if (victims.Count > 0)
            {
                RemoveCore(victims);
            }
            return victims;
        }
    }

    private void PlanVolume(RetentionPolicy policy, List<BackupInfo> backups, HashSet<Guid> keep, Dictionary<Guid, List<string>> reasons)
    {
        void Keep(BackupInfo b, string reason)
        {
            keep.Add(b.BackupId);
            if (!reasons.TryGetValue(b.BackupId, out List<string>? list))
            {
                reasons[b.BackupId] = list = new List<string>();
            }
            if (!list.Contains(reason))
            {
                list.Add(reason);
            }
        }

        var chains = new Dictionary<Guid, List<BackupInfo>>();
        foreach (BackupInfo b in backups)
        {
            List<BackupInfo>? chain = TryChain(_catalog, b);
            if (chain == null)
            {
                Keep(b, "its chain is broken, so it cannot be restored; retention leaves it for you to inspect and remove");
            }
            else
            {
                chains[b.BackupId] = chain;
            }
        }

        // One point in time per snapshot reached, represented by its backup with the shortest chain.
        var representative = chains.Values
            .Select(c => c[^1])
            .GroupBy(b => b.ToSnapshotId)
            .ToDictionary(g => g.Key, g => g.OrderBy(b => chains[b.BackupId].Count).ThenByDescending(b => b.CreatedUtc).First());
        var points = representative.Values
            .OrderByDescending(b => b.ToSnapshotCreatedUtc)
            .ThenByDescending(b => b.ToSequence)
            .ToList();

        for (int i = 0; i < points.Count && i < policy.KeepLast; i++)
        {
            Keep(points[i], $"keep-last: {i + 1} of {policy.KeepLast}");
        }
        TimeZoneInfo zone = policy.TimeZone;
        SelectBuckets(points, policy.KeepDaily, "keep-daily", t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), zone, Keep);
        SelectBuckets(points, policy.KeepWeekly, "keep-weekly", t => $"{ISOWeek.GetYear(t.DateTime):D4}-W{ISOWeek.GetWeekOfYear(t.DateTime):D2}", zone, Keep);
        SelectBuckets(points, policy.KeepMonthly, "keep-monthly", t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture), zone, Keep);
        SelectBuckets(points, policy.KeepYearly, "keep-yearly", t => t.ToString("yyyy", CultureInfo.InvariantCulture), zone, Keep);

        // Whatever a kept backup is restored from is kept with it.
        foreach (BackupInfo kept in points.Where(p => keep.Contains(p.BackupId)).ToList())
        {
            List<BackupInfo> chain = chains[kept.BackupId];
            for (int i = 0; i < chain.Count - 1; i++)
            {
                Keep(chain[i], $"needed to restore {kept.BackupId.ToString()[..8]} ('{kept.ToSnapshotName}')");
            }
        }

        // Say why a second backup of a kept point goes.
        foreach (List<BackupInfo> chain in chains.Values)
        {
            BackupInfo b = chain[^1];
            BackupInfo rep = representative[b.ToSnapshotId];
            if (!keep.Contains(b.BackupId) && rep.BackupId != b.BackupId && keep.Contains(rep.BackupId))
            {
                reasons[b.BackupId] = new List<string>
                {
                    $"its point in time '{b.ToSnapshotName}' is kept through backup {rep.BackupId.ToString()[..8]}, which needs fewer backups to restore",
                };
            }
        }
    }

    private static void SelectBuckets(List<BackupInfo> points, int count, string rule, Func<DateTimeOffset, string> bucketOf, TimeZoneInfo zone, Action<BackupInfo, string> keep)
    {
        if (count <= 0)
        {
            return;
        }
        string? last = null;
        int taken = 0;
        foreach (BackupInfo p in points)
        {
            string bucket = bucketOf(TimeZoneInfo.ConvertTime(p.ToSnapshotCreatedUtc, zone));
            if (bucket == last)
            {
                continue;
            }
            last = bucket;
            if (taken++ >= count)
            {
                break;
            }
            keep(p, $"{rule}: newest of {bucket} ({taken} of {count})");
        }
    }
}
