using System.Reflection;
using System.Runtime.InteropServices;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Where the built module and the PowerShell reference assembly are, and a MetadataLoadContext over them: the module's
/// contract is read as metadata, so no PowerShell code is loaded or run (none exists on these machines).
/// </summary>
internal static class ModuleMetadata
{
    private static string Metadata(string key) =>
        typeof(ModuleMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"No {key} metadata.");

    /// <summary>Gets the module folder the build laid out (src/SnapshotTools/bin/CONFIG/net8.0/module).</summary>
    public static string ModuleFolder => Path.GetFullPath(Metadata("ModuleLayoutPath"));

    /// <summary>Gets the PowerShellStandard.Library reference assembly.</summary>
    public static string PowerShellStandardPath => Path.GetFullPath(Metadata("PowerShellStandardPath"));

    /// <summary>Gets the repository root.</summary>
    public static string RepositoryRoot => Path.GetFullPath(Metadata("RepositoryRoot"));

    /// <summary>Creates a context that resolves the module, its dependencies, the facade and the runtime's assemblies.</summary>
    public static MetadataLoadContext CreateContext()
    {
        var paths = new List<string>();
        paths.AddRange(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll"));
        if (Directory.Exists(ModuleFolder))
        {
            paths.AddRange(Directory.GetFiles(ModuleFolder, "*.dll", SearchOption.AllDirectories));
        }
        paths.Add(PowerShellStandardPath);
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string p in paths)
        {
            byName.TryAdd(Path.GetFileNameWithoutExtension(p), p);
        }
        return new MetadataLoadContext(new PathAssemblyResolver(byName.Values), "System.Private.CoreLib");
    }
}
