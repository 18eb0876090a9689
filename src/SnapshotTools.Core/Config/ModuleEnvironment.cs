using System.Runtime.InteropServices;
using SnapshotTools;

namespace SnapshotTools.Core;

/// <summary>
/// What the default locations depend on: environment variables, the platform and the home folder. Tests pass their
/// own; the module uses <see cref="Current"/>.
/// </summary>
/// <param name="GetVariable">Reads an environment variable (null when unset).</param>
/// <param name="IsWindows">Whether the platform is Windows.</param>
/// <param name="HomeDirectory">The user's home folder.</param>
public sealed record ModuleEnvironment(Func<string, string?> GetVariable, bool IsWindows, string HomeDirectory)
{
    /// <summary>The variable naming the configuration file, overriding the default location.</summary>
    public const string ConfigVariable = "SNAPSHOTTOOLS_CONFIG";

    /// <summary>The variable naming the volume store folder, overriding the configuration file and the default.</summary>
    public const string StoreVariable = "SNAPSHOTTOOLS_STORE";

    /// <summary>Gets the environment of this process.</summary>
    public static ModuleEnvironment Current { get; } = new(
        Environment.GetEnvironmentVariable,
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows),
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>
    /// Gets the default configuration file: <c>$SNAPSHOTTOOLS_CONFIG</c>; else <c>%APPDATA%\SnapshotTools\config.yaml</c>
    /// on Windows; else <c>$XDG_CONFIG_HOME/snapshottools/config.yaml</c> (<c>~/.config</c> when unset).
    /// </summary>
    public string DefaultConfigPath
    {
        get
        {
            string? overridden = NonEmpty(ConfigVariable);
            if (overridden != null)
            {
                return Path.GetFullPath(overridden);
            }
            if (IsWindows)
            {
                string appData = NonEmpty("APPDATA") ?? Path.Combine(HomeDirectory, "AppData", "Roaming");
                return Path.Combine(appData, "SnapshotTools", "config.yaml");
            }
            string config = NonEmpty("XDG_CONFIG_HOME") ?? Path.Combine(HomeDirectory, ".config");
            return Path.Combine(config, "snapshottools", "config.yaml");
        }
    }

    /// <summary>
    /// Gets the built-in volume store: <c>%LOCALAPPDATA%\SnapshotTools\volumes</c> on Windows, else
    /// <c>$XDG_DATA_HOME/snapshottools/volumes</c> (<c>~/.local/share</c> when unset).
    /// </summary>
    public string BuiltInStore
    {
        get
        {
            if (IsWindows)
            {
                string local = NonEmpty("LOCALAPPDATA") ?? Path.Combine(HomeDirectory, "AppData", "Local");
                return Path.Combine(local, "SnapshotTools", "volumes");
            }
            string data = NonEmpty("XDG_DATA_HOME") ?? Path.Combine(HomeDirectory, ".local", "share");
            return Path.Combine(data, "snapshottools", "volumes");
        }
    }

    /// <summary>
    /// Resolves the store to use: an explicit one (a <c>-StoreRoot</c> argument) first, then <c>$SNAPSHOTTOOLS_STORE</c>,
    /// then the configuration's <see cref="SnapshotToolsConfig.Store"/>, then <see cref="BuiltInStore"/>.
    /// </summary>
    public string ResolveStore(string? explicitStore, SnapshotToolsConfig? config)
    {
        string? chosen = string.IsNullOrWhiteSpace(explicitStore) ? null : explicitStore;
        chosen ??= NonEmpty(StoreVariable);
        chosen ??= string.IsNullOrWhiteSpace(config?.Store) ? null : ExpandHome(config!.Store!);
        return Path.GetFullPath(chosen ?? BuiltInStore);
    }

    /// <summary>Fills in <see cref="SnapshotToolsConfig.EffectiveStore"/> and <see cref="SnapshotToolsConfig.EffectiveRepository"/> for display.</summary>
    public SnapshotToolsConfig Describe(SnapshotToolsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string? repository = null;
        if (!string.IsNullOrWhiteSpace(config.Repository))
        {
            repository = RepositoryResolver.Resolve(null, config, null, this);
        }
        return config with { EffectiveStore = ResolveStore(null, config), EffectiveRepository = repository };
    }

    /// <summary>Expands a leading <c>~</c> to the home folder (configuration files are written by hand).</summary>
    public string ExpandHome(string path)
    {
        if (path == "~")
        {
            return HomeDirectory;
        }
        if (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            return Path.Combine(HomeDirectory, path.Substring(2));
        }
        return path;
    }

    private string? NonEmpty(string name)
    {
        string? value = GetVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
