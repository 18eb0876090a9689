using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// A folder of volumes, each in a subfolder named after it (the module's default store). Turns the names, wildcard
/// patterns and paths that users type into volume locations.
/// </summary>
/// <remarks>
/// A value containing a directory separator, or starting with <c>.</c> or <c>~</c>, is a path to a volume folder
/// anywhere; anything else is a volume name in the store. Paths are resolved by the delegate given (the cmdlets pass
/// PowerShell's provider resolution, so relative paths follow <c>$PWD</c>, not the process's current directory).
/// </remarks>
public sealed class VolumeStore
{
    private readonly Func<string, string> _resolvePath;

    /// <summary>Initializes a store at <paramref name="root"/>.</summary>
    /// <param name="root">The store folder (it need not exist yet).</param>
    /// <param name="resolvePath">Turns a user-typed path into a full path; default <see cref="Path.GetFullPath(string)"/>.</param>
    public VolumeStore(string root, Func<string, string>? resolvePath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _resolvePath = resolvePath ?? Path.GetFullPath;
        Root = _resolvePath(root);
    }

    /// <summary>Gets the full path of the store folder.</summary>
    public string Root { get; }

    /// <summary>Returns whether <paramref name="value"/> is a path rather than a volume name.</summary>
    public static bool IsPath(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Contains('/') || value.Contains('\\') || value.StartsWith('.') || value.StartsWith('~') || Path.IsPathRooted(value);
    }

    /// <summary>Checks that <paramref name="name"/> can name a volume folder.</summary>
    /// <exception cref="SnapshotToolsException">InvalidArgument, saying what is wrong.</exception>
    public static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, "Invalid volume name: it is empty.");
        }
        if (name != name.Trim())
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, $"Invalid volume name '{name}': it starts or ends with white space.");
        }
        if (name is "." or ".." || name.IndexOfAny(s_invalidNameChars) >= 0 || WildcardMatcher.ContainsWildcard(name))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument,
                $"Invalid volume name '{name}': a name cannot be '.' or '..' or hold path separators, wildcard characters (* ? [ ]) or characters that are not allowed in file names.");
        }
    }

    /// <summary>
    /// Resolves one volume: a path as it is, a name (wildcard escapes removed) to its folder in the store. Whether a volume
    /// exists there is not checked.
    /// </summary>
    public VolumeLocation Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (IsPath(nameOrPath))
        {
            string full = Path.TrimEndingDirectorySeparator(_resolvePath(nameOrPath));
            return new VolumeLocation(new DirectoryInfo(full).Name, full);
        }
        string name = WildcardMatcher.Unescape(nameOrPath);
        return new VolumeLocation(name, Path.Combine(Root, name));
    }

    /// <summary>Resolves a name for a new volume in the store (or a path anywhere), checking the name.</summary>
    /// <exception cref="SnapshotToolsException">InvalidArgument: the name cannot name a folder.</exception>
    public VolumeLocation ResolveNew(string nameOrPath)
    {
        VolumeLocation location = Resolve(nameOrPath);
        ValidateName(location.Name);
        return location;
    }

    /// <summary>Lists the volumes in the store, by name.</summary>
    public IReadOnlyList<VolumeLocation> List()
    {
        var result = new List<VolumeLocation>();
        if (!Directory.Exists(Root))
        {
            return result;
        }
        foreach (string dir in Directory.EnumerateDirectories(Root))
        {
            if (Volume.Exists(dir))
            {
                result.Add(new VolumeLocation(Path.GetFileName(dir), Path.GetFullPath(dir)));
            }
        }
        result.Sort((a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Name, b.Name));
        return result;
    }

    /// <summary>
    /// Expands what a user typed for a volume parameter: paths and plain names resolve to one location each (existing or
    /// not: the caller reports a missing one); wildcard patterns expand to the matching volumes in the store, without
    /// those matching <paramref name="exclusions"/>. Each volume is listed once, in the order given.
    /// </summary>
    /// <param name="values">Names, patterns or paths.</param>
    /// <param name="exclusions">Patterns of names that wildcards skip (the configuration's <c>exclusions</c>); null for none.</param>
    /// <param name="excluded">Receives the volumes a wildcard matched but an exclusion skipped.</param>
    public IReadOnlyList<VolumeLocation> Expand(IEnumerable<string> values, IReadOnlyList<string>? exclusions, out IReadOnlyList<VolumeLocation> excluded)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new List<VolumeLocation>();
        var skipped = new List<VolumeLocation>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<VolumeLocation>? all = null;
        foreach (string value in values)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }
            if (IsPath(value) || !WildcardMatcher.ContainsWildcard(value))
            {
                VolumeLocation one = Resolve(value);
                if (seen.Add(one.Path))
                {
                    result.Add(one);
                }
                continue;
            }
            var matcher = new WildcardMatcher(value);
            all ??= List();
            foreach (VolumeLocation v in all)
            {
                if (!matcher.IsMatch(v.Name))
                {
                    continue;
                }
                if (exclusions != null && exclusions.Count > 0 && WildcardMatcher.MatchesAny(exclusions, v.Name))
                {
                    if (!skipped.Contains(v))
                    {
                        skipped.Add(v);
                    }
                    continue;
                }
                if (seen.Add(v.Path))
                {
                    result.Add(v);
                }
            }
        }
        excluded = skipped;
        return result;
    }

    private static readonly char[] s_invalidNameChars = Path.GetInvalidFileNameChars()
        .Concat(new[] { '/', '\\', ':', '*', '?', '"', '<', '>', '|' })
        .Distinct()
        .ToArray();
}
