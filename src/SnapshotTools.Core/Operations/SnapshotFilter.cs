using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Chooses snapshots the way <c>Get-VolumeSnapshot</c> does: by name (wildcards) or id, by date, and the newest N,
/// oldest first in the result.
/// </summary>
public sealed class SnapshotFilter
{
    /// <summary>Gets the name patterns or ids; null or empty for all.</summary>
    public IReadOnlyList<string>? Names { get; init; }

    /// <summary>Gets the earliest creation time kept (inclusive).</summary>
    public DateTimeOffset? CreatedAfter { get; init; }

    /// <summary>Gets the latest creation time kept (inclusive).</summary>
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Gets how many of the newest matches to keep; null for all.</summary>
    public int? Newest { get; init; }

    /// <summary>Returns the matching snapshots, oldest first.</summary>
    public IReadOnlyList<SnapshotInfo> Apply(IReadOnlyList<SnapshotInfo> snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        var matchers = Names is { Count: > 0 } ? Names.Select(n => new WildcardMatcher(n)).ToArray() : null;
        var result = new List<SnapshotInfo>();
        foreach (SnapshotInfo s in snapshots.OrderBy(s => s.Sequence))
        {
            if (matchers != null && !matchers.Any(m => m.IsMatch(s.Name) || IsId(m.Pattern, s)))
            {
                continue;
            }
            if (CreatedAfter is DateTimeOffset after && s.CreatedUtc < after)
            {
                continue;
            }
            if (CreatedBefore is DateTimeOffset before && s.CreatedUtc > before)
            {
                continue;
            }
            result.Add(s);
        }
        if (Newest is int n && n >= 0 && result.Count > n)
        {
            result.RemoveRange(0, result.Count - n);
        }
        return result;
    }

    /// <summary>Returns the names given without wildcards that match no snapshot: each is an UnknownSnapshot error (a pattern matching nothing is not).</summary>
    public IReadOnlyList<string> Missing(IReadOnlyList<SnapshotInfo> snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        if (Names is not { Count: > 0 })
        {
            return Array.Empty<string>();
        }
        var missing = new List<string>();
        foreach (string name in Names)
        {
            if (WildcardMatcher.ContainsWildcard(name))
            {
                continue;
            }
            string literal = WildcardMatcher.Unescape(name);
            if (!snapshots.Any(s => string.Equals(s.Name, literal, StringComparison.OrdinalIgnoreCase) || IsId(literal, s)))
            {
                missing.Add(literal);
            }
        }
        return missing;
    }

    private static bool IsId(string text, SnapshotInfo s) => Guid.TryParse(text, out Guid id) && id == s.Id;
}
