namespace SnapshotTools.Engine.Repository;

/// <summary>What retention would do with one backup, and why.</summary>
/// <param name="Backup">The backup.</param>
/// <param name="Keep">Whether it is kept.</param>
/// <param name="Reasons">Why: the rules that keep it, the kept backups that need it, or why it goes.</param>
public sealed record RetentionDecision(BackupInfo Backup, bool Keep, IReadOnlyList<string> Reasons);

/// <summary>
/// A preview of retention: every backup considered, kept or removed, with the reasons. Nothing changes until the plan
/// is passed to <see cref="BackupRepository.ApplyRetention"/>.
/// </summary>
public sealed class RetentionPlan
{
    internal RetentionPlan(Guid repositoryId, RetentionPolicy policy, Guid? volumeId, IReadOnlyList<RetentionDecision> decisions)
    {
        RepositoryId = repositoryId;
        Policy = policy;
        VolumeId = volumeId;
        Decisions = decisions;
        CreatedUtc = DateTimeOffset.UtcNow;
    }

    /// <summary>Gets the repository the plan was made for.</summary>
    public Guid RepositoryId { get; }

    /// <summary>Gets the policy applied.</summary>
    public RetentionPolicy Policy { get; }

    /// <summary>Gets the volume the plan is limited to, or null for all volumes.</summary>
    public Guid? VolumeId { get; }

    /// <summary>Gets when the plan was made.</summary>
    public DateTimeOffset CreatedUtc { get; }

    /// <summary>Gets the decision for every backup considered, by volume, oldest point in time first.</summary>
    public IReadOnlyList<RetentionDecision> Decisions { get; }

    /// <summary>Gets the backups that would be kept.</summary>
    public IReadOnlyList<BackupInfo> ToKeep => Decisions.Where(d => d.Keep).Select(d => d.Backup).ToArray();

    /// <summary>Gets the backups that would be removed.</summary>
    public IReadOnlyList<BackupInfo> ToRemove => Decisions.Where(d => !d.Keep).Select(d => d.Backup).ToArray();

    /// <summary>Gets the stream bytes that removing would free.</summary>
    public long BytesFreed => Decisions.Where(d => !d.Keep).Sum(d => d.Backup.StreamBytes);
}
