using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Core;

/// <summary>
/// The changes <c>Set-SnapshotToolsConfig</c> makes: null leaves a setting as it is; an empty string (or empty list)
/// clears it; a repository mapped to null or an empty string is removed.
/// </summary>
public sealed record ConfigChanges
{
    /// <summary>Gets the new store folder ("" clears).</summary>
    public string? Store { get; init; }

    /// <summary>Gets the new default repository ("" clears).</summary>
    public string? Repository { get; init; }

    /// <summary>Gets repositories to add, change (a folder) or remove (null or "").</summary>
    public IReadOnlyDictionary<string, string?>? Repositories { get; init; }

    /// <summary>Gets the new compression.</summary>
    public StreamCompression? Compression { get; init; }

    /// <summary>Gets the new compression level (-1 clears).</summary>
    public int? CompressionLevel { get; init; }

    /// <summary>Gets the new exclusions (an empty list clears).</summary>
    public IReadOnlyList<string>? Exclusions { get; init; }

    /// <summary>Gets the new keep-last count.</summary>
    public int? KeepLast { get; init; }

    /// <summary>Gets the new keep-daily count.</summary>
    public int? KeepDaily { get; init; }

    /// <summary>Gets the new keep-weekly count.</summary>
    public int? KeepWeekly { get; init; }

    /// <summary>Gets the new keep-monthly count.</summary>
    public int? KeepMonthly { get; init; }

    /// <summary>Gets the new keep-yearly count.</summary>
    public int? KeepYearly { get; init; }

    /// <summary>Gets the new retention time zone ("" clears).</summary>
    public string? TimeZone { get; init; }

    /// <summary>Gets whether the retention policy is removed (before any new counts are applied).</summary>
    public bool ClearRetention { get; init; }

    /// <summary>Returns the settings after the changes.</summary>
    /// <exception cref="Engine.SnapshotToolsException">InvalidPolicy: the resulting retention policy keeps nothing, or its time zone is unknown.</exception>
    public SnapshotToolsConfig ApplyTo(SnapshotToolsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        SnapshotToolsConfig next = config;
        if (Store != null)
        {
            next = next with { Store = Store.Length == 0 ? null : Store };
        }
        if (Repository != null)
        {
            next = next with { Repository = Repository.Length == 0 ? null : Repository };
        }
        if (Repositories != null)
        {
            var map = new Dictionary<string, string>(config.Repositories, StringComparer.OrdinalIgnoreCase);
            foreach (KeyValuePair<string, string?> r in Repositories)
            {
                if (string.IsNullOrEmpty(r.Value))
                {
                    map.Remove(r.Key);
                }
                else
                {
                    map[r.Key] = r.Value;
                }
            }
            next = next with { Repositories = map };
        }
        if (Compression != null)
        {
            next = next with { Compression = Compression };
        }
        if (CompressionLevel != null)
        {
            next = next with { CompressionLevel = CompressionLevel < 0 ? null : CompressionLevel };
        }
        if (Exclusions != null)
        {
            next = next with { Exclusions = Exclusions.Where(e => !string.IsNullOrWhiteSpace(e)).ToArray() };
        }
        RetentionSettings? retention = ClearRetention ? null : next.Retention;
        bool touched = KeepLast != null || KeepDaily != null || KeepWeekly != null || KeepMonthly != null || KeepYearly != null || TimeZone != null;
        if (touched)
        {
            retention ??= new RetentionSettings();
            retention = retention with
            {
                KeepLast = KeepLast ?? retention.KeepLast,
                KeepDaily = KeepDaily ?? retention.KeepDaily,
                KeepWeekly = KeepWeekly ?? retention.KeepWeekly,
                KeepMonthly = KeepMonthly ?? retention.KeepMonthly,
                KeepYearly = KeepYearly ?? retention.KeepYearly,
                TimeZone = TimeZone == null ? retention.TimeZone : TimeZone.Length == 0 ? null : TimeZone,
            };
            // Refuse to save a policy the engine would refuse later.
            retention.ToPolicy("the retention settings given");
        }
        return next with { Retention = retention };
    }
}
