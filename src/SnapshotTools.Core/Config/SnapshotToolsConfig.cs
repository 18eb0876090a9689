using SnapshotTools.Engine.Streams;

namespace SnapshotTools;

/// <summary>
/// The module's settings, read from and written to a YAML file (output of <c>Get-SnapshotToolsConfig</c>). Every
/// setting is optional; an unset one falls back to the built-in default, shown by the <c>Effective*</c> members.
/// </summary>
public sealed record SnapshotToolsConfig
{
    /// <summary>Gets the file the settings were read from (it need not exist yet).</summary>
    public string Path { get; init; } = "";

    /// <summary>Gets whether the file exists.</summary>
    public bool Exists { get; init; }

    /// <summary>Gets the volume store folder (volumes are its subfolders), or null for the default.</summary>
    public string? Store { get; init; }

    /// <summary>Gets the default backup repository: a path, or a name from <see cref="Repositories"/>; null when none.</summary>
    public string? Repository { get; init; }

    /// <summary>Gets named repositories (name to folder), offered by tab completion for <c>-Repository</c>.</summary>
    public IReadOnlyDictionary<string, string> Repositories { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets the compression of new backups, or null for the default (deflate).</summary>
    public StreamCompression? Compression { get; init; }

    /// <summary>Gets the compression level of new backups, or null for the default (1, fastest).</summary>
    public int? CompressionLevel { get; init; }

    /// <summary>Gets wildcard patterns of volume names that are skipped when volumes are chosen by wildcard (nightly jobs over <c>*</c>).</summary>
    public IReadOnlyList<string> Exclusions { get; init; } = Array.Empty<string>();

    /// <summary>Gets the default retention policy of <c>Remove-Backup -ApplyRetention</c>, or null when none is set.</summary>
    public RetentionSettings? Retention { get; init; }

    /// <summary>Gets the store the module uses with these settings (after <c>$SNAPSHOTTOOLS_STORE</c> and the built-in default); set by <see cref="Core.ModuleEnvironment.Describe"/>.</summary>
    public string? EffectiveStore { get; init; }

    /// <summary>Gets the default repository's folder, or null when none is configured; set by <see cref="Core.ModuleEnvironment.Describe"/>.</summary>
    public string? EffectiveRepository { get; init; }

    /// <summary>Gets the compression new backups use.</summary>
    public StreamCompression EffectiveCompression => Compression ?? StreamCompression.Deflate;

    /// <summary>Gets the compression level new backups use.</summary>
    public int EffectiveCompressionLevel => CompressionLevel ?? 1;
}
