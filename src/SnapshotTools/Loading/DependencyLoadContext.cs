using System.Reflection;
using System.Runtime.Loader;

namespace SnapshotTools.Commands.Loading;

/// <summary>
/// The module's own load context: it loads the engine, SnapshotTools.Core and YamlDotNet from the module's
/// <c>dependencies</c> folder, whatever versions other modules have loaded into the default context. This is
/// Microsoft's "resolving PowerShell module assembly dependency conflicts" pattern: YamlDotNet in particular is a
/// known source of "assembly with same name is already loaded" clashes between modules.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    private readonly string _folder;

    /// <summary>Initializes the context over <paramref name="folder"/>.</summary>
    public DependencyLoadContext(string folder)
        : base(nameof(DependencyLoadContext), isCollectible: false)
    {
        _folder = folder;
    }

    /// <summary>Gets the folder the context loads from.</summary>
    public string Folder => _folder;

    /// <summary>
    /// Loads an assembly the dependencies ask for from the folder when it is there; anything else (the BCL,
    /// PowerShell) comes from the default context.
    /// </summary>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string path = Path.Combine(_folder, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
