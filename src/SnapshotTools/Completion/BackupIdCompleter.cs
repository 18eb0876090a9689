using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using SnapshotTools.Core;

namespace SnapshotTools.Commands.Completion;

/// <summary>Completes backup ids of the repository typed (<c>-Repository</c>, else the configured default), newest first.</summary>
public sealed class BackupIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        SnapshotToolsConfig? config = CompleterContext.Config();
        if (config == null)
        {
            return Array.Empty<CompletionResult>();
        }
        string? repository;
        try
        {
            repository = RepositoryResolver.Resolve(CompleterContext.FirstString(fakeBoundParameters, "Repository"), config);
        }
        catch (Exception ex) when (ex is SnapshotTools.Engine.SnapshotToolsException or ArgumentException)
        {
            return Array.Empty<CompletionResult>();
        }
        return CompleterContext.ToResults(CompletionSource.Backups(repository, wordToComplete));
    }
}
