using SnapshotTools.Engine;
using SnapshotTools.Engine.Repository;

namespace SnapshotTools.Core;

/// <summary>One tab completion: the text inserted, the text listed and a tool tip.</summary>
public sealed record CompletionItem(string CompletionText, string ListItemText, string ToolTip);

/// <summary>
/// What tab completion offers for volume, snapshot, repository and backup parameters. Never throws: completion runs
/// while the user types, and a volume in use or a missing folder simply offers nothing.
/// </summary>
public static class CompletionSource
{
    /// <summary>Offers the names of the volumes in the store that start with (or match) <paramref name="wordToComplete"/>.</summary>
    public static IReadOnlyList<CompletionItem> Volumes(VolumeStore store, string? wordToComplete)
    {
        try
        {
            WildcardMatcher matcher = Prefix(wordToComplete);
            return store.List()
                .Where(v => matcher.IsMatch(v.Name))
                .Select(v => new CompletionItem(Quote(v.Name), v.Name, v.Path))
                .ToArray();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return Array.Empty<CompletionItem>();
        }
    }

    /// <summary>Offers the snapshot names of the volume at <paramref name="location"/>, newest first.</summary>
    public static IReadOnlyList<CompletionItem> Snapshots(VolumeLocation? location, string? wordToComplete)
    {
        if (location == null)
        {
            return Array.Empty<CompletionItem>();
        }
        try
        {
            WildcardMatcher matcher = Prefix(wordToComplete);
            if (!Volume.Exists(location.Path))
            {
                return Array.Empty<CompletionItem>();
            }
            using Volume volume = Volume.Open(location.Path);
            return volume.Snapshots
                .Reverse()
                .Where(s => matcher.IsMatch(s.Name))
                .Select(s => new CompletionItem(Quote(s.Name), s.Name, $"{s.Name} ({HumanTime.FormatLocal(s.CreatedUtc)}, {HumanSize.Format(s.Size)}){(s.Description == null ? "" : ": " + s.Description)}"))
                .ToArray();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return Array.Empty<CompletionItem>();
        }
    }

    /// <summary>Offers the configured repository names.</summary>
    public static IReadOnlyList<CompletionItem> Repositories(SnapshotToolsConfig config, string? wordToComplete)
    {
        try
        {
            WildcardMatcher matcher = Prefix(wordToComplete);
            return config.Repositories
                .OrderBy(r => r.Key, StringComparer.OrdinalIgnoreCase)
                .Where(r => matcher.IsMatch(r.Key))
                .Select(r => new CompletionItem(Quote(r.Key), r.Key, r.Value))
                .ToArray();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return Array.Empty<CompletionItem>();
        }
    }

    /// <summary>Offers the backup ids of a repository that start with <paramref name="wordToComplete"/>, newest first, with what each holds.</summary>
    public static IReadOnlyList<CompletionItem> Backups(string? repository, string? wordToComplete)
    {
        if (string.IsNullOrEmpty(repository))
        {
            return Array.Empty<CompletionItem>();
        }
        try
        {
            string prefix = Unquote(wordToComplete);
            using BackupRepository repo = BackupRepository.OpenReadOnly(repository);
            return repo.List()
                .Reverse()
                .Where(b => b.BackupId.ToString("D").StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(b => new CompletionItem(b.BackupId.ToString("D"), $"{b.VolumeName} {b.ToSnapshotName} ({b.Kind})", $"{b.VolumeName} / {b.ToSnapshotName}, {HumanTime.FormatLocal(b.ToSnapshotCreatedUtc)}, {b.Kind}, {HumanSize.Format(b.StreamBytes)}"))
                .ToArray();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return Array.Empty<CompletionItem>();
        }
    }

    /// <summary>Quotes a completion for the command line when it needs it (spaces, quotes, PowerShell special characters).</summary>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool needs = text.Length == 0 || text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '`' or '$' or '&' or '(' or ')' or '{' or '}' or ';' or ',' or '|' or '@' or '#' or '<' or '>' or '[' or ']' or '*' or '?');
        if (!needs)
        {
            return text;
        }
        string escaped = WildcardMatcher.ContainsWildcard(text) ? WildcardMatcher.Escape(text) : text;
        return "'" + escaped.Replace("'", "''") + "'";
    }

    /// <summary>Removes the quotes a user started typing.</summary>
    public static string Unquote(string? word)
    {
        string w = word ?? "";
        if (w.Length > 0 && (w[0] == '\'' || w[0] == '"'))
        {
            w = w.Substring(1);
            if (w.Length > 0 && w[^1] == word![0])
            {
                w = w.Substring(0, w.Length - 1);
            }
        }
        return w;
    }

    private static WildcardMatcher Prefix(string? word)
    {
        string w = Unquote(word);
        return new WildcardMatcher(WildcardMatcher.ContainsWildcard(w) ? w : WildcardMatcher.Escape(w) + "*");
    }

    private static bool IsExpected(Exception ex) => ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException;
}
