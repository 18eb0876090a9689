using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Turns a <c>-Repository</c> value into a folder: a name from the configuration's <c>repositories</c>, or a path; when
/// none is given, the configuration's default <c>repository</c> (itself a name or a path).
/// </summary>
public static class RepositoryResolver
{
    /// <summary>Resolves the repository folder.</summary>
    /// <param name="value">What the user gave, or null.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="resolvePath">Turns a user-typed path into a full path; default <see cref="Path.GetFullPath(string)"/>.</param>
    /// <param name="environment">Expands <c>~</c> in configured paths; default <see cref="ModuleEnvironment.Current"/>.</param>
    /// <exception cref="SnapshotToolsException">RepositoryNotFound: no value and no default repository configured.</exception>
    public static string Resolve(string? value, SnapshotToolsConfig config, Func<string, string>? resolvePath = null, ModuleEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        resolvePath ??= Path.GetFullPath;
        environment ??= ModuleEnvironment.Current;
        string? chosen = string.IsNullOrWhiteSpace(value) ? config.Repository : value;
        if (string.IsNullOrWhiteSpace(chosen))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.RepositoryNotFound,
                "No backup repository was given and no default is configured: pass -Repository, or set one with Set-SnapshotToolsConfig -Repository <folder>.");
        }
        if (!VolumeStore.IsPath(chosen) && config.Repositories.TryGetValue(chosen, out string? named))
        {
            return resolvePath(environment.ExpandHome(named));
        }
        bool fromConfig = string.IsNullOrWhiteSpace(value);
        return resolvePath(fromConfig ? environment.ExpandHome(chosen) : chosen);
    }

    /// <summary>Returns the repository names tab completion offers: the configured names, by name.</summary>
    public static IReadOnlyList<string> Names(SnapshotToolsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Repositories.Keys.OrderBy(k => k, StringComparer.OrdinalIgnoreCase).ToArray();
    }
}
