using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SnapshotTools.Engine.Repository;

/// <summary>
/// Which backups to keep, grandfather-father-son style, judged by the time of the snapshot each backup reaches: the
/// newest <see cref="KeepLast"/> points in time, and the newest point of each of the last <see cref="KeepDaily"/>
/// days, <see cref="KeepWeekly"/> ISO weeks, <see cref="KeepMonthly"/> months and <see cref="KeepYearly"/> years that
/// have one. A point kept by any rule is kept; whatever a kept backup depends on is kept with it.
/// </summary>
/// <remarks>
/// Written in YAML (docs/repository-format.md):
/// <code>
/// keep-last: 3
/// keep-daily: 7
/// keep-weekly: 4
/// keep-monthly: 12
/// keep-yearly: 2
/// time-zone: Europe/Berlin   # day, week, month and year boundaries; default UTC
/// </code>
/// The same keys may also be nested under <c>keep:</c> without the <c>keep-</c> prefix.
/// </remarks>
public sealed class RetentionPolicy
{
    private const int MaxCount = 1_000_000;

    /// <summary>Gets how many of the newest points in time to keep.</summary>
    public int KeepLast { get; init; }

    /// <summary>Gets for how many of the most recent days with a backup to keep that day's newest.</summary>
    public int KeepDaily { get; init; }

    /// <summary>Gets for how many of the most recent ISO weeks with a backup to keep that week's newest.</summary>
    public int KeepWeekly { get; init; }

    /// <summary>Gets for how many of the most recent months with a backup to keep that month's newest.</summary>
    public int KeepMonthly { get; init; }

    /// <summary>Gets for how many of the most recent years with a backup to keep that year's newest.</summary>
    public int KeepYearly { get; init; }

    /// <summary>Gets the time zone whose calendar draws the day, week, month and year boundaries; default UTC.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>Parses a policy from YAML text.</summary>
    /// <param name="yaml">The policy.</param>
    /// <param name="source">Names the text in error messages (a file name, say).</param>
    /// <exception cref="SnapshotToolsException">InvalidPolicy, naming the line and column of the problem.</exception>
    public static RetentionPolicy Parse(string yaml, string source = "the retention policy")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw Invalid(source, ex.Start, Reason(ex));
        }
        if (stream.Documents.Count == 0)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidPolicy, $"Invalid retention policy in {source}: it is empty; give at least one of {KnownKeys}.");
        }
        if (stream.Documents.Count > 1)
        {
            throw Invalid(source, stream.Documents[1].RootNode.Start, "it holds more than one YAML document");
        }
        YamlNode root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode mapping)
        {
            throw Invalid(source, root.Start, $"a policy is a mapping of settings ({KnownKeys}), not a {Describe(root)}");
        }
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        TimeZoneInfo zone = TimeZoneInfo.Utc;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<YamlNode, YamlNode> pair in mapping.Children)
        {
            string key = KeyName(source, pair.Key);
            if (key == "keep" && pair.Value is YamlMappingNode nested)
            {
                foreach (KeyValuePair<YamlNode, YamlNode> inner in nested.Children)
                {
                    string innerKey = "keep-" + KeyName(source, inner.Key);
                    ReadCount(source, innerKey, inner.Key, inner.Value, counts, seen);
                }
                continue;
            }
            if (key == "time-zone" || key == "timezone")
            {
                zone = ReadZone(source, pair.Value);
                continue;
            }
            ReadCount(source, key, pair.Key, pair.Value, counts, seen);
        }
        var policy = new RetentionPolicy
        {
            KeepLast = counts.GetValueOrDefault("keep-last"),
            KeepDaily = counts.GetValueOrDefault("keep-daily"),
            KeepWeekly = counts.GetValueOrDefault("keep-weekly"),
            KeepMonthly = counts.GetValueOrDefault("keep-monthly"),
            KeepYearly = counts.GetValueOrDefault("keep-yearly"),
            TimeZone = zone,
        };
        if (policy.KeepLast + policy.KeepDaily + policy.KeepWeekly + policy.KeepMonthly + policy.KeepYearly == 0)
        {
            throw Invalid(source, root.Start, "it keeps nothing (every count is 0); a policy must keep at least one backup");
        }
        return policy;
    }

    /// <summary>Reads a policy from a YAML file.</summary>
    /// <exception cref="SnapshotToolsException">InvalidPolicy (naming the file, line and column).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static RetentionPolicy Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path), $"'{Path.GetFullPath(path)}'");
    }

    /// <summary>Describes the policy, e.g. <c>keep-last 3, keep-daily 7 (UTC)</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        void Add(string name, int n)
        {
            if (n > 0)
            {
                parts.Add($"{name} {n}");
            }
        }
        Add("keep-last", KeepLast);
        Add("keep-daily", KeepDaily);
        Add("keep-weekly", KeepWeekly);
        Add("keep-monthly", KeepMonthly);
        Add("keep-yearly", KeepYearly);
        return string.Join(", ", parts) + $" ({TimeZone.Id})";
    }

    private const string KnownKeys = "keep-last, keep-daily, keep-weekly, keep-monthly, keep-yearly, time-zone";

    private static void ReadCount(string source, string key, YamlNode keyNode, YamlNode value, Dictionary<string, int> counts, HashSet<string> seen)
    {
        if (key is not ("keep-last" or "keep-daily" or "keep-weekly" or "keep-monthly" or "keep-yearly"))
        {
            throw Invalid(source, keyNode.Start, $"unknown setting '{key}'; the settings are {KnownKeys}");
        }
        if (!seen.Add(key))
        {
            throw Invalid(source, keyNode.Start, $"'{key}' is given twice");
        }
        if (value is not YamlScalarNode scalar || scalar.Value == null)
        {
            throw Invalid(source, value.Start, $"'{key}' must be a whole number, not a {Describe(value)}");
        }
        if (!int.TryParse(scalar.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
        {
            throw Invalid(source, value.Start, $"'{key}' must be a whole number, not '{scalar.Value}'");
        }
        if (n < 0 || n > MaxCount)
        {
            throw Invalid(source, value.Start, $"'{key}' must be from 0 to {MaxCount}, not {n}");
        }
        counts[key] = n;
    }

    private static TimeZoneInfo ReadZone(string source, YamlNode value)
    {
        if (value is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
        {
            throw Invalid(source, value.Start, "'time-zone' must name a time zone (UTC, local, or an id such as Europe/Berlin)");
        }
        string id = scalar.Value.Trim();
        if (id.Equals("utc", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }
        if (id.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Local;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw Invalid(source, value.Start, $"unknown time zone '{id}'");
        }
    }

    private static string KeyName(string source, YamlNode key)
    {
        if (key is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
        {
            throw Invalid(source, key.Start, "a setting name must be plain text");
        }
        return scalar.Value.Trim().ToLowerInvariant().Replace('_', '-');
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    private static string Reason(YamlException ex)
    {
        // YamlDotNet prefixes its messages with the position; the position is reported separately.
        string message = ex.Message;
        int dash = message.IndexOf("): ", StringComparison.Ordinal);
        string reason = dash >= 0 && message.StartsWith("(", StringComparison.Ordinal) ? message.Substring(dash + 3) : message;
        return reason.TrimEnd('.', ' ');
    }

    private static SnapshotToolsException Invalid(string source, Mark at, string reason) =>
        new(SnapshotErrorCode.InvalidPolicy, $"Invalid retention policy in {source} at line {at.Line}, column {at.Column}: {reason}.");
}
