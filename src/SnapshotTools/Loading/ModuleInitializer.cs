using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace SnapshotTools.Commands.Loading;

/// <summary>
/// Runs when the module is imported, before PowerShell looks at the cmdlets: the default load context is taught to
/// resolve SnapshotTools.Core and SnapshotTools.Engine (which the cmdlets reference) through the module's own context.
/// YamlDotNet is never resolved for the default context: only Core and the engine use it, from their own context.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string s_folder = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? AppContext.BaseDirectory, "dependencies");

    private static readonly HashSet<string> s_bridged = new(StringComparer.Ordinal)
    {
        "SnapshotTools.Core",
        "SnapshotTools.Engine",
    };

    private static readonly Lazy<DependencyLoadContext> s_context = new(() => new DependencyLoadContext(s_folder));

    /// <summary>Registers the resolver.</summary>
    public void OnImport()
    {
        AssemblyLoadContext.Default.Resolving += ResolveDependency;
    }

    /// <summary>Removes the resolver (Remove-Module).</summary>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        AssemblyLoadContext.Default.Resolving -= ResolveDependency;
    }

    /// <summary>Gets the load context the dependencies live in (for tests and diagnostics).</summary>
    internal static AssemblyLoadContext DependencyContext => s_context.Value;

    private static Assembly? ResolveDependency(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        if (assemblyName.Name == null || !s_bridged.Contains(assemblyName.Name))
        {
            return null;
        }
        // The same instance every time: types from Core seen by the cmdlets and by the engine must be the same types.
        return s_context.Value.LoadFromAssemblyName(assemblyName);
    }
}
