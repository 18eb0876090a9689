using System.Management.Automation;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Get-SnapshotToolsConfig: shows the settings (default store and repository, compression, exclusions, retention) and where they come from.</summary>
[Cmdlet(VerbsCommon.Get, "SnapshotToolsConfig")]
[OutputType(typeof(SnapshotToolsConfig))]
public sealed class GetSnapshotToolsConfigCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the settings file to read; default <c>$env:SNAPSHOTTOOLS_CONFIG</c> or the per-user file.</summary>
    [Parameter(Position = 0)]
    public string? Path { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        string file = string.IsNullOrEmpty(Path) ? ModuleEnvironment.Current.DefaultConfigPath : ResolvePath(Path);
        try
        {
            WriteObject(ModuleEnvironment.Current.Describe(ConfigFile.Load(file)));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowSetupError(ex, file);
        }
    }
}
