using System.Globalization;
using System.Text;
using SnapshotTools.Engine.Repository;

namespace SnapshotTools;

/// <summary>The counts of a retention policy as the configuration file holds them (see <see cref="RetentionPolicy"/>).</summary>
public sealed record RetentionSettings
{
    /// <summary>Gets how many of the newest points in time to keep.</summary>
    public int KeepLast { get; init; }

    /// <summary>Gets for how many recent days to keep the day's newest.</summary>
    public int KeepDaily { get; init; }

    /// <summary>Gets for how many recent ISO weeks to keep the week's newest.</summary>
    public int KeepWeekly { get; init; }

    /// <summary>Gets for how many recent months to keep the month's newest.</summary>
    public int KeepMonthly { get; init; }

    /// <summary>Gets for how many recent years to keep the year's newest.</summary>
    public int KeepYearly { get; init; }

    /// <summary>Gets the time zone of the calendar boundaries (UTC, local, or an id); null for UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Builds the engine's policy, with the engine's validation (a policy must keep something).</summary>
    /// <param name="source">Names the settings in error messages.</param>
    /// <exception cref="Engine.SnapshotToolsException">InvalidPolicy.</exception>
    public RetentionPolicy ToPolicy(string source = "the configured retention policy") => RetentionPolicy.Parse(ToYaml(), source);

    /// <summary>Writes the settings as the YAML the engine reads (only the counts that are set).</summary>
    public string ToYaml()
    {
        var text = new StringBuilder();
        void Add(string key, int value)
        {
            if (value != 0)
            {
                text.Append(key).Append(": ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        Add("keep-last", KeepLast);
        Add("keep-daily", KeepDaily);
        Add("keep-weekly", KeepWeekly);
        Add("keep-monthly", KeepMonthly);
        Add("keep-yearly", KeepYearly);
        if (!string.IsNullOrWhiteSpace(TimeZone))
        {
            text.Append("time-zone: '").Append(TimeZone.Replace("'", "''")).Append("'\n");
        }
        if (text.Length == 0)
        {
            // Let the engine say what is wrong with a policy that keeps nothing.
            text.Append("keep-last: 0\n");
        }
        return text.ToString();
    }

    /// <summary>Describes the policy, e.g. <c>keep-last 3, keep-daily 7</c>.</summary>
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
        string counts = parts.Count == 0 ? "keeps nothing" : string.Join(", ", parts);
        return TimeZone == null ? counts : $"{counts} ({TimeZone})";
    }
}
