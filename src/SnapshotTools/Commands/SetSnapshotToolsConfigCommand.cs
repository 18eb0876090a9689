using System.Collections;
using System.Management.Automation;
using SnapshotTools.Core;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Commands;

/// <summary>
/// Set-SnapshotToolsConfig: changes settings in the YAML file; what is not given stays as it is, an empty string clears
/// a setting. Keys this version does not know are kept.
/// </summary>
[Cmdlet(VerbsCommon.Set, "SnapshotToolsConfig", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SnapshotToolsConfig))]
public sealed class SetSnapshotToolsConfigCommand : SnapshotToolsCmdlet
{
    /// <summary>Gets or sets the volume store folder ('' clears: the default is used).</summary>
    [Parameter]
    [AllowEmptyString]
    public string? Store { get; set; }

    /// <summary>Gets or sets the default repository: a folder, or a name from <c>-Repositories</c> ('' clears).</summary>
    [Parameter]
    [AllowEmptyString]
    public string? Repository { get; set; }

    /// <summary>Gets or sets named repositories to add or change (<c>@{ offsite = '/mnt/offsite' }</c>); a name mapped to $null or '' is removed.</summary>
    [Parameter]
    public Hashtable? Repositories { get; set; }

    /// <summary>Gets or sets the compression of new backups.</summary>
    [Parameter]
    [ValidateSet("None", "Deflate", "Brotli", "Zstd")]
    public string? Compression { get; set; }

    /// <summary>Gets or sets the compression level of new backups (-1 clears).</summary>
    [Parameter]
    [ValidateRange(-1, 22)]
    public int? CompressionLevel { get; set; }

    /// <summary>Gets or sets volume name patterns skipped when volumes are chosen by wildcard (an empty list clears).</summary>
    [Parameter]
    [AllowEmptyCollection]
    public string[]? Exclusions { get; set; }

    /// <summary>Gets or sets the default retention's keep-last count.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? KeepLast { get; set; }

    /// <summary>Gets or sets the default retention's keep-daily count.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? KeepDaily { get; set; }

    /// <summary>Gets or sets the default retention's keep-weekly count.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? KeepWeekly { get; set; }

    /// <summary>Gets or sets the default retention's keep-monthly count.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? KeepMonthly { get; set; }

    /// <summary>Gets or sets the default retention's keep-yearly count.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? KeepYearly { get; set; }

    /// <summary>Gets or sets the default retention's time zone ('' clears: UTC).</summary>
    [Parameter]
    [AllowEmptyString]
    public string? TimeZone { get; set; }

    /// <summary>Gets or sets whether the default retention policy is removed.</summary>
    [Parameter]
    public SwitchParameter ClearRetention { get; set; }

    /// <summary>Gets or sets the settings file to change; default <c>$env:SNAPSHOTTOOLS_CONFIG</c> or the per-user file.</summary>
    [Parameter]
    public string? Path { get; set; }

    /// <summary>Gets or sets whether the new settings are written to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        string file = string.IsNullOrEmpty(Path) ? ModuleEnvironment.Current.DefaultConfigPath : ResolvePath(Path);
        try
        {
            SnapshotToolsConfig current = ConfigFile.Load(file);
            Dictionary<string, string?>? repositories = null;
            if (Repositories != null)
            {
                repositories = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                foreach (DictionaryEntry entry in Repositories)
                {
                    string name = LanguagePrimitives.ConvertTo<string>(entry.Key);
                    object? value = entry.Value is PSObject p ? p.BaseObject : entry.Value;
                    repositories[name] = value == null ? null : ResolvePath(LanguagePrimitives.ConvertTo<string>(value));
                }
            }
            var changes = new ConfigChanges
            {
                Store = string.IsNullOrEmpty(Store) ? Store : ResolvePath(Store),
                Repository = string.IsNullOrEmpty(Repository) || !VolumeStore.IsPath(Repository) ? Repository : ResolvePath(Repository),
                Repositories = repositories,
                Compression = ParameterValues.Compression(Compression),
                CompressionLevel = CompressionLevel,
                Exclusions = Exclusions,
                KeepLast = KeepLast,
                KeepDaily = KeepDaily,
                KeepWeekly = KeepWeekly,
                KeepMonthly = KeepMonthly,
                KeepYearly = KeepYearly,
                TimeZone = TimeZone,
                ClearRetention = ClearRetention,
            };
            SnapshotToolsConfig next = changes.ApplyTo(current);
            if (!ShouldProcess(file, "Write SnapshotTools settings"))
            {
                return;
            }
            ConfigFile.Save(next, file);
            WriteVerbose($"Wrote '{file}'.");
            if (PassThru)
            {
                WriteObject(ModuleEnvironment.Current.Describe(ConfigFile.Load(file)));
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowSetupError(ex, file);
        }
    }
}
