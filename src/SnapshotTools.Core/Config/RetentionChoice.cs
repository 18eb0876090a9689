using SnapshotTools.Engine;
using SnapshotTools.Engine.Repository;

namespace SnapshotTools.Core;

/// <summary>Which retention policy <c>Remove-Backup -ApplyRetention</c> applies: a policy file, counts given as parameters, or the configured policy, in that order.</summary>
public static class RetentionChoice
{
    /// <summary>Chooses the policy.</summary>
    /// <param name="policyPath">A YAML policy file, or null.</param>
    /// <param name="counts">Counts given as parameters (null when none was given).</param>
    /// <param name="config">The configuration.</param>
    /// <exception cref="SnapshotToolsException">InvalidPolicy: the policy is invalid, or there is none.</exception>
    /// <exception cref="FileNotFoundException">The policy file does not exist.</exception>
    public static RetentionPolicy Resolve(string? policyPath, RetentionSettings? counts, SnapshotToolsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.IsNullOrEmpty(policyPath))
        {
            return RetentionPolicy.Load(policyPath);
        }
        if (counts != null)
        {
            return counts.ToPolicy("the retention parameters");
        }
        if (config.Retention != null)
        {
            return config.Retention.ToPolicy($"the 'retention' settings of '{config.Path}'");
        }
        throw new SnapshotToolsException(SnapshotErrorCode.InvalidPolicy,
            "No retention policy was given and none is configured: pass -PolicyPath or -KeepLast/-KeepDaily/-KeepWeekly/-KeepMonthly/-KeepYearly, or set one with Set-SnapshotToolsConfig -KeepDaily 7.");
    }
}
