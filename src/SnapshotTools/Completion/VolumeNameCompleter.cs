using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using SnapshotTools.Core;

namespace SnapshotTools.Commands.Completion;

/// <summary>Completes volume names from the store (the <c>-StoreRoot</c> being typed, else the configured one).</summary>
public sealed class VolumeNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        VolumeStore? store = CompleterContext.Store(fakeBoundParameters);
        if (store == null)
        {
            return Array.Empty<CompletionResult>();
        }
        return CompleterContext.ToResults(CompletionSource.Volumes(store, wordToComplete));
    }
}
