using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine.Repository;

namespace SnapshotTools.Commands;

/// <summary>
/// Remove-Backup: removes backups by id, or applies a retention policy (a policy file, counts, or the configured policy)
/// and removes what it does not keep. A backup that kept ones depend on is never removed by retention; <c>-WhatIf</c>
/// lists what would go, and why.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Backup", DefaultParameterSetName = IdSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(Backup))]
public sealed class RemoveBackupCommand : SnapshotToolsCmdlet
{
    private const string IdSet = "BackupId";
    private const string RetentionSet = "Retention";

    /// <summary>Gets or sets the repository; bound from <c>Repository</c> of piped backups; default the configured one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets the backups to remove; bound from <c>BackupId</c> of piped backups.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid[] BackupId { get; set; } = Array.Empty<Guid>();

    /// <summary>Gets or sets whether the backups that depend on a removed one are removed with it (else such a backup is refused).</summary>
    [Parameter(ParameterSetName = IdSet)]
    public SwitchParameter WithDependents { get; set; }

    /// <summary>Gets or sets whether a retention policy chooses what to remove.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RetentionSet)]
    public SwitchParameter ApplyRetention { get; set; }

    /// <summary>Gets or sets a YAML policy file (keep-last, keep-daily, ...); default the counts given, else the configured policy.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    public string? PolicyPath { get; set; }

    /// <summary>Gets or sets how many of the newest points in time to keep.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, 1_000_000)]
    public int? KeepLast { get; set; }

    /// <summary>Gets or sets for how many recent days to keep the day's newest backup.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, 1_000_000)]
    public int? KeepDaily { get; set; }

    /// <summary>Gets or sets for how many recent weeks to keep the week's newest backup.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, 1_000_000)]
    public int? KeepWeekly { get; set; }

    /// <summary>Gets or sets for how many recent months to keep the month's newest backup.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, 1_000_000)]
    public int? KeepMonthly { get; set; }

    /// <summary>Gets or sets for how many recent years to keep the year's newest backup.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, 1_000_000)]
    public int? KeepYearly { get; set; }

    /// <summary>Gets or sets the time zone of the day/week/month/year boundaries (UTC, local, or an id such as Europe/Berlin).</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    public string? TimeZone { get; set; }

    /// <summary>Gets or sets the volumes whose backups retention considers (wildcards allowed); default all.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[]? VolumeName { get; set; }

    /// <summary>Gets or sets whether to remove without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets whether the removed backups are written to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string repository;
        try
        {
            repository = GetRepository(Repository);
        }
        catch (SnapshotTools.Engine.SnapshotToolsException ex)
        {
            ThrowSetupError(ex, Repository);
            return;
        }
        if (ParameterSetName == RetentionSet)
        {
            RemoveByRetention(repository);
            return;
        }
        foreach (Guid id in BackupId)
        {
            try
            {
                Backup backup = BackupOperations.Get(repository, id);
                IReadOnlyList<Backup> dependents = BackupOperations.Dependents(repository, id);
                string extra = dependents.Count > 0 && WithDependents ? $" and the {dependents.Count} later backup(s) that depend on it" : "";
                if (!ShouldChange(Describe(backup), $"Remove backup{extra}", Force))
                {
                    continue;
                }
                WritePassThru(BackupOperations.Remove(repository, id, WithDependents));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteItemError(ex, id);
            }
        }
    }

    private void RemoveByRetention(string repository)
    {
        RetentionPolicy policy;
        try
        {
            RetentionSettings? counts = KeepLast == null && KeepDaily == null && KeepWeekly == null && KeepMonthly == null && KeepYearly == null
                ? null
                : new RetentionSettings { KeepLast = KeepLast ?? 0, KeepDaily = KeepDaily ?? 0, KeepWeekly = KeepWeekly ?? 0, KeepMonthly = KeepMonthly ?? 0, KeepYearly = KeepYearly ?? 0, TimeZone = TimeZone };
            policy = RetentionChoice.Resolve(string.IsNullOrEmpty(PolicyPath) ? null : ResolvePath(PolicyPath), counts, Config);
        }
        catch (Exception ex) when (ex is SnapshotTools.Engine.SnapshotToolsException or IOException or UnauthorizedAccessException)
        {
            ThrowSetupError(ex, PolicyPath);
            return;
        }
        WriteVerbose($"Retention policy: {policy}.");
        try
        {
            IEnumerable<Guid?> volumes = new Guid?[] { null };
            if (VolumeName is { Length: > 0 })
            {
                volumes = BackupOperations.List(repository, new BackupFilter { VolumeNames = VolumeName })
                    .Select(b => (Guid?)b.VolumeId)
                    .Distinct()
                    .ToArray();
            }
            foreach (Guid? volumeId in volumes)
            {
                IReadOnlyList<RetentionDecisionInfo> decisions = BackupOperations.PlanRetention(repository, policy, volumeId, out RetentionPlan plan);
                foreach (RetentionDecisionInfo kept in decisions.Where(d => d.Keep))
                {
                    WriteVerbose($"Keeping {Describe(kept.Backup)}: {string.Join("; ", kept.Reasons)}.");
                }
                IReadOnlyList<Backup> doomed = BackupOperations.RemovalOrder(decisions.Where(d => !d.Keep).Select(d => d.Backup));
                var approved = new List<Backup>();
                foreach (Backup backup in doomed)
                {
                    RetentionDecisionInfo d = decisions.First(x => x.Backup.BackupId == backup.BackupId);
                    if (ShouldChange(Describe(backup), $"Remove backup (retention: {string.Join("; ", d.Reasons)})", Force))
                    {
                        approved.Add(backup);
                    }
                }
                if (approved.Count == 0)
                {
                    continue;
                }
                if (approved.Count == doomed.Count)
                {
                    // Everything the plan removes: apply it as one change (the engine re-checks it against the catalog).
                    WritePassThru(BackupOperations.ApplyRetention(repository, plan));
                    continue;
                }
                foreach (Backup backup in approved)
                {
                    try
                    {
                        WritePassThru(BackupOperations.Remove(repository, backup.BackupId, withDependents: false));
                    }
                    catch (Exception ex) when (ex is not PipelineStoppedException)
                    {
                        WriteItemError(ex, backup);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, repository);
        }
    }

    private void WritePassThru(IReadOnlyList<Backup> removed)
    {
        foreach (Backup b in removed)
        {
            WriteVerbose($"Removed {Describe(b)}.");
        }
        if (PassThru)
        {
            WriteObject(removed, enumerateCollection: true);
        }
    }

    private static string Describe(Backup b) =>
        $"backup {b.BackupId} ('{b.SnapshotName}' of volume '{b.VolumeName}', {Format.Time(b.PointInTimeUtc)}, {b.Kind.ToString().ToLowerInvariant()})";
}
