using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using SnapshotTools.Core;

namespace SnapshotTools.Commands.Completion;

/// <summary>Completes repository names from the configuration's <c>repositories</c>.</summary>
public sealed class RepositoryNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        SnapshotToolsConfig? config = CompleterContext.Config();
        return config == null ? Array.Empty<CompletionResult>() : CompleterContext.ToResults(CompletionSource.Repositories(config, wordToComplete));
    }
}
