namespace SnapshotTools;

/// <summary>What a retention policy does with one backup, and why (what <c>Remove-Backup -ApplyRetention</c> decides, shown by <c>-WhatIf</c>).</summary>
public sealed class RetentionDecisionInfo
{
    /// <summary>Gets the backup.</summary>
    public required Backup Backup { get; init; }

    /// <summary>Gets whether the policy keeps the backup.</summary>
    public required bool Keep { get; init; }

    /// <summary>Gets why, one reason each.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }
}
