using SnapshotTools.Engine.Repository;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Backup repository: retention policies in YAML, the preview plan, and applying it.</summary>
public class RepositoryRetentionTests
{
    [Fact]
    public void PoliciesParseFromFlatOrNestedYaml()
    {
        RetentionPolicy flat = RetentionPolicy.Parse("# nightly\nkeep-last: 3\nkeep-daily: 7\nkeep-weekly: 4\nkeep-monthly: 12\nkeep-yearly: 2\ntime-zone: UTC\n");
        Assert.Equal((3, 7, 4, 12, 2), (flat.KeepLast, flat.KeepDaily, flat.KeepWeekly, flat.KeepMonthly, flat.KeepYearly));
        Assert.Equal(TimeZoneInfo.Utc, flat.TimeZone);
        Assert.Contains("keep-daily 7", flat.ToString());

        RetentionPolicy nested = RetentionPolicy.Parse("keep:\n  last: 1\n  weekly: 5\n");
        Assert.Equal((1, 0, 5), (nested.KeepLast, nested.KeepDaily, nested.KeepWeekly));

        using var kit = new RepositoryTestKit();
        File.WriteAllText(kit.PathFor("policy.yaml"), "keep_daily: 2\n");
        Assert.Equal(2, RetentionPolicy.Load(kit.PathFor("policy.yaml")).KeepDaily);
    }

    [Theory]
    [InlineData("keep-last: 3\nkeep-dialy: 7\n", 2, "unknown setting 'keep-dialy'")]
    [InlineData("keep-last: 3\nkeep-daily: -1\n", 2, "from 0 to")]
    [InlineData("keep-last: three\n", 1, "whole number")]
    [InlineData("keep-last: 1\nkeep-daily: [1, 2]\n", 2, "whole number")]
    [InlineData("keep-last: 1\nkeep-last: 2\n", 2, "")]
    [InlineData("keep-last: 0\n", 1, "keeps nothing")]
    [InlineData("keep-last: 1\n  keep-daily: 2\n", 2, "")]
    [InlineData("keep-last: 1\ntime-zone: Nowhere/Atlantis\n", 2, "unknown time zone")]
    [InlineData("- keep-last\n", 1, "mapping")]
    [InlineData("keep-last: [1\n", 2, "")]
    public void BadPoliciesAreRefusedNamingTheLine(string yaml, int line, string detail)
    {
        var ex = Assert.Throws<SnapshotToolsException>(() => RetentionPolicy.Parse(yaml, "'policy.yaml'"));
        Assert.Equal(SnapshotErrorCode.InvalidPolicy, ex.Code);
        Assert.Contains("'policy.yaml'", ex.Message);
        Assert.Contains($"line {line},", ex.Message);
        Assert.Contains(detail, ex.Message);
        Assert.Equal(SnapshotErrorCode.InvalidPolicy, Assert.Throws<SnapshotToolsException>(() => RetentionPolicy.Parse("")).Code);
    }

    /// <summary>
    /// Two chains on one volume, at chosen times (January 2024; the 1st is a Monday, so ISO week 1 is the 1st to 7th):
    /// F1 (1st) → I1 (2nd) → I2 (3rd, 10:00) → I3 (3rd, 20:00); F2 (10th) → I4 (11th, 10:00) → I5 (11th, 12:00).
    /// </summary>
    private static (BackupRepository Repo, Volume Source, Dictionary<string, BackupInfo> B) History(RepositoryTestKit kit)
    {
        Volume source = RepositoryTestKit.Source();
        var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        var rng = new Random(21);
        var at = new (string Name, DateTimeOffset Time, string? From, string Label)[]
        {
            ("s1", new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), null, "F1"),
            ("s2", new(2024, 1, 2, 10, 0, 0, TimeSpan.Zero), "s1", "I1"),
            ("s3", new(2024, 1, 3, 10, 0, 0, TimeSpan.Zero), "s2", "I2"),
            ("s4", new(2024, 1, 3, 20, 0, 0, TimeSpan.Zero), "s3", "I3"),
            ("s5", new(2024, 1, 10, 10, 0, 0, TimeSpan.Zero), null, "F2"),
            ("s6", new(2024, 1, 11, 10, 0, 0, TimeSpan.Zero), "s5", "I4"),
            ("s7", new(2024, 1, 11, 12, 0, 0, TimeSpan.Zero), "s6", "I5"),
        };
        var backups = new Dictionary<string, BackupInfo>();
        foreach ((string name, DateTimeOffset time, string? from, string label) in at)
        {
            RepositoryTestKit.Mutate(source, rng);
            source.CreateSnapshotWithIdentity(name, null, Guid.NewGuid(), time);
            backups[label] = repo.Export(source, from, name);
        }
        return (repo, source, backups);
    }

    [Fact]
    public void PlanKeepsTheSelectedPointsWithTheChainsTheyNeedAndApplyRemovesTheRest()
    {
        using var kit = new RepositoryTestKit();
        (BackupRepository repo, Volume source, Dictionary<string, BackupInfo> b) = History(kit);
        using (repo)
        using (source)
        {
            RetentionPlan plan = repo.PlanRetention(RetentionPolicy.Parse("keep-last: 1\nkeep-daily: 2\n"), source.VolumeId);
            string Label(BackupInfo x) => b.First(p => p.Value.BackupId == x.BackupId).Key;
            Assert.Equal(new[] { "F2", "I4", "I5" }, plan.ToKeep.Select(Label).OrderBy(x => x));
            Assert.Equal(new[] { "F1", "I1", "I2", "I3" }, plan.ToRemove.Select(Label).OrderBy(x => x));
            Assert.Equal(7, plan.Decisions.Count);
            RetentionDecision i5 = plan.Decisions.Single(d => d.Backup.BackupId == b["I5"].BackupId);
            Assert.Contains(i5.Reasons, r => r.StartsWith("keep-last"));
            Assert.Contains(i5.Reasons, r => r.Contains("2024-01-11"));
            RetentionDecision f2 = plan.Decisions.Single(d => d.Backup.BackupId == b["F2"].BackupId);
            Assert.Contains(f2.Reasons, r => r.Contains("keep-daily") && r.Contains("2024-01-10"));
            RetentionDecision i4 = plan.Decisions.Single(d => d.Backup.BackupId == b["I4"].BackupId);
            Assert.True(i4.Keep);
            Assert.Contains(i4.Reasons, r => r.StartsWith("needed to restore"));
            Assert.Equal(plan.ToRemove.Sum(x => x.StreamBytes), plan.BytesFreed);
            Assert.Equal(7, repo.List().Count); // a plan is only a preview

            // Weekly: the newest of week 2 (I5) and of week 1 (I3, which needs its whole chain).
            RetentionPlan weekly = repo.PlanRetention(RetentionPolicy.Parse("keep-weekly: 2\n"));
            Assert.Empty(weekly.ToRemove);
            Assert.Contains(weekly.Decisions.Single(d => d.Backup.BackupId == b["I3"].BackupId).Reasons, r => r.Contains("2024-W01"));
            Assert.Contains(weekly.Decisions.Single(d => d.Backup.BackupId == b["F1"].BackupId).Reasons, r => r.StartsWith("needed to restore"));

            IReadOnlyList<BackupInfo> removed = repo.ApplyRetention(plan);
            Assert.Equal(4, removed.Count);
            Assert.Equal(new[] { b["F2"].BackupId, b["I4"].BackupId, b["I5"].BackupId }, repo.List().Select(x => x.BackupId));
            Assert.All(removed, x => Assert.False(File.Exists(Path.Combine(kit.RepositoryPath, x.FileName))));
            Assert.Empty(repo.VerifyCatalog());
            repo.RestoreToImage(b["I5"].BackupId, kit.PathFor("s7.img"));
            Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s7"), File.ReadAllBytes(kit.PathFor("s7.img")));
            Assert.Empty(repo.ApplyRetention(plan)); // applying again finds nothing left to do
        }
    }

    [Fact]
    public void ApplyRefusesAPlanThatALaterBackupNowDependsOn()
    {
        using var kit = new RepositoryTestKit();
        (BackupRepository repo, Volume source, Dictionary<string, BackupInfo> b) = History(kit);
        using (repo)
        using (source)
        {
            RetentionPlan plan = repo.PlanRetention(RetentionPolicy.Parse("keep-last: 1\nkeep-daily: 2\n"));
            Assert.Contains(plan.ToRemove, x => x.BackupId == b["I3"].BackupId);
            source.CreateSnapshot("s8");
            BackupInfo late = repo.Export(source, "s4", "s8"); // chains from I3, which the plan removes
            Assert.Equal(b["I3"].BackupId, late.BaseBackupId);
            var ex = Assert.Throws<SnapshotToolsException>(() => repo.ApplyRetention(plan));
            Assert.Equal(SnapshotErrorCode.BackupHasDependents, ex.Code);
            Assert.Equal(8, repo.List().Count);

            RetentionPlan fresh = repo.PlanRetention(RetentionPolicy.Parse("keep-last: 1\n"));
            Assert.Contains(fresh.ToKeep, x => x.BackupId == b["I3"].BackupId); // needed by the newest
            repo.ApplyRetention(fresh);
            Assert.Equal(new[] { "F1", "I1", "I2", "I3" }.Select(l => b[l].BackupId).Append(late.BackupId), repo.List().Select(x => x.BackupId));
        }
    }

    [Fact]
    public void RetentionPrefersTheSyntheticFullSoTheOldChainCanGo()
    {
        using var kit = new RepositoryTestKit();
        (BackupRepository repo, Volume source, Dictionary<string, BackupInfo> b) = History(kit);
        using (repo)
        using (source)
        {
            BackupInfo synthetic = repo.Merge(b["I3"].BackupId);
            RetentionPlan plan = repo.PlanRetention(RetentionPolicy.Parse("keep-weekly: 2\n"));
            Assert.Contains(plan.ToKeep, x => x.BackupId == synthetic.BackupId);
            Assert.Equal(new[] { "F1", "I1", "I2", "I3" }.Select(l => b[l].BackupId).OrderBy(x => x), plan.ToRemove.Select(x => x.BackupId).OrderBy(x => x));
            Assert.Contains(plan.Decisions.Single(d => d.Backup.BackupId == b["I3"].BackupId).Reasons, r => r.Contains("kept through backup"));
            repo.ApplyRetention(plan);
            repo.RestoreToImage(synthetic.BackupId, kit.PathFor("s4.img"));
            Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s4"), File.ReadAllBytes(kit.PathFor("s4.img")));
        }
    }

    [Fact]
    public void APlanOfAnotherRepositoryIsRefused()
    {
        using var kit = new RepositoryTestKit();
        using var one = BackupRepository.Open(kit.PathFor("one"), create: true);
        using var two = BackupRepository.Open(kit.PathFor("two"), create: true);
        RetentionPlan plan = one.PlanRetention(RetentionPolicy.Parse("keep-last: 1"));
        Assert.Empty(plan.Decisions);
        Assert.Equal(SnapshotErrorCode.InvalidArgument, Assert.Throws<SnapshotToolsException>(() => two.ApplyRetention(plan)).Code);
    }
}
