using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using SnapshotTools.Core;

namespace SnapshotTools.Commands.Completion;

/// <summary>Completes snapshot names of the volume already typed (<c>-Volume</c>), newest first.</summary>
public sealed class SnapshotNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        VolumeStore? store = CompleterContext.Store(fakeBoundParameters);
        string? volume = CompleterContext.FirstString(fakeBoundParameters, "Volume") ?? CompleterContext.FirstString(fakeBoundParameters, "VolumePath");
        if (store == null || string.IsNullOrEmpty(volume))
        {
            return Array.Empty<CompletionResult>();
        }
        VolumeLocation location;
        try
        {
            location = store.Resolve(volume);
        }
        catch (ArgumentException)
        {
            return Array.Empty<CompletionResult>();
        }
        return CompleterContext.ToResults(CompletionSource.Snapshots(location, wordToComplete));
    }
}
