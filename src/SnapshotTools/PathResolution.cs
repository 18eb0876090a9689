using System.Collections.ObjectModel;
using System.Management.Automation;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>
/// Path and LiteralPath handling like Get-FileHash: <c>-Path</c> expands wildcards through PowerShell's providers,
/// <c>-LiteralPath</c> (alias <c>PSPath</c>) is taken as it is; both must name file-system items. A path that matches
/// nothing is a non-terminating error whose target is that path.
/// </summary>
internal static class PathResolution
{
    public static List<string> ResolveInputFiles(SnapshotToolsCmdlet cmdlet, IEnumerable<string> paths, bool literal)
    {
        var result = new List<string>();
        foreach (string path in paths)
        {
            try
            {
                if (literal)
                {
                    string full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
                    RequireFileSystem(provider, path);
                    if (!File.Exists(full) && !full.StartsWith("/dev/", StringComparison.Ordinal))
                    {
                        throw new FileNotFoundException($"Cannot find the file '{full}' because it does not exist.", full);
                    }
                    result.Add(full);
                }
                else
                {
                    Collection<string> resolved = cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(path, out ProviderInfo provider);
                    RequireFileSystem(provider, path);
                    result.AddRange(resolved);
                }
            }
            catch (ItemNotFoundException ex)
            {
                cmdlet.WriteError(new ErrorRecord(new FileNotFoundException(ex.Message, path, ex), "FileNotFound", ErrorCategory.ObjectNotFound, path));
            }
            catch (Exception ex) when (ex is FileNotFoundException or SnapshotToolsException or ArgumentException or NotSupportedException)
            {
                cmdlet.WriteError(new ErrorRecord(ex, ex is FileNotFoundException ? "FileNotFound" : nameof(SnapshotErrorCode.InvalidArgument), ex is FileNotFoundException ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidArgument, path));
            }
        }
        return result;
    }

    /// <summary>Resolves an output file path (it need not exist); only the file system is accepted.</summary>
    public static string ResolveOutputFile(SnapshotToolsCmdlet cmdlet, string path)
    {
        string full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
        RequireFileSystem(provider, path);
        return full;
    }

    private static void RequireFileSystem(ProviderInfo provider, string path)
    {
        if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, $"Invalid path '{path}': it is on the {provider.Name} provider; SnapshotTools reads and writes files only.");
        }
    }
}
