using System.Collections;
using System.Management.Automation;
using SnapshotTools.Core;

namespace SnapshotTools.Commands.Completion;

/// <summary>What the completers share: reading the parameters typed so far, the configuration and the store, never throwing.</summary>
internal static class CompleterContext
{
    public static SnapshotToolsConfig? Config()
    {
        try
        {
            return ConfigFile.Load(ModuleEnvironment.Current.DefaultConfigPath);
        }
        catch (Exception ex) when (ex is SnapshotTools.Engine.SnapshotToolsException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static VolumeStore? Store(IDictionary fakeBoundParameters)
    {
        SnapshotToolsConfig? config = Config();
        if (config == null)
        {
            return null;
        }
        try
        {
            return new VolumeStore(ModuleEnvironment.Current.ResolveStore(FirstString(fakeBoundParameters, "StoreRoot"), config));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public static string? FirstString(IDictionary fakeBoundParameters, string name)
    {
        if (fakeBoundParameters == null || !fakeBoundParameters.Contains(name))
        {
            return null;
        }
        object? value = fakeBoundParameters[name];
        if (value is PSObject pso)
        {
            value = pso.BaseObject;
        }
        if (value is IEnumerable list and not string)
        {
            foreach (object? item in list)
            {
                return item is PSObject p ? p.BaseObject?.ToString() : item?.ToString();
            }
            return null;
        }
        return value?.ToString();
    }

    public static IEnumerable<CompletionResult> ToResults(IReadOnlyList<CompletionItem> items)
    {
        var results = new List<CompletionResult>(items.Count);
        foreach (CompletionItem item in items)
        {
            results.Add(new CompletionResult(item.CompletionText, item.ListItemText, CompletionResultType.ParameterValue, string.IsNullOrEmpty(item.ToolTip) ? item.ListItemText : item.ToolTip));
        }
        return results;
    }
}
