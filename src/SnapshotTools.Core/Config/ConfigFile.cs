using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Reads and writes the YAML configuration file (<see cref="SnapshotToolsConfig"/>). The format, with every key optional:
/// <code>
/// store: /srv/volumes              # the volume store: volumes are its subfolders
/// repository: offsite              # the default backup repository: a path or a name below
/// repositories:
///   offsite: /mnt/offsite/backups
///   local: /backups
/// compression: deflate             # none, deflate, brotli or zstd
/// compression-level: 1
/// exclusions:                      # volume names skipped when volumes are chosen by wildcard
///   - scratch-*
/// retention:                       # the default policy of Remove-Backup -ApplyRetention
///   keep-last: 7
///   keep-daily: 14
///   keep-weekly: 8
///   time-zone: UTC
/// </code>
/// Writing keeps keys this version does not know (comments are not kept) and replaces the file atomically.
/// </summary>
public static class ConfigFile
{
    /// <summary>Reads the configuration at <paramref name="path"/>; a missing file gives the defaults.</summary>
    /// <exception cref="SnapshotToolsException">InvalidPolicy: the file is not valid (naming the line and column).</exception>
    public static SnapshotToolsConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            return new SnapshotToolsConfig { Path = full, Exists = false };
        }
        return ConfigYaml.Parse(File.ReadAllText(full), full) with { Path = full, Exists = true };
    }

    /// <summary>Parses configuration text (for tests and for <c>Set-SnapshotToolsConfig -WhatIf</c> previews).</summary>
    /// <exception cref="SnapshotToolsException">InvalidPolicy.</exception>
    public static SnapshotToolsConfig Parse(string yaml, string source = "the configuration") => ConfigYaml.Parse(yaml, source);

    /// <summary>Returns the YAML text <see cref="Save"/> would write for <paramref name="config"/> over <paramref name="existingYaml"/>.</summary>
    public static string Render(SnapshotToolsConfig config, string? existingYaml = null) => ConfigYaml.Render(config, existingYaml);

    /// <summary>
    /// Writes <paramref name="config"/> to <paramref name="path"/> (creating the folder), keeping unknown keys of the file
    /// there. The file is written under a temporary name and renamed into place, so a crash leaves the old or the new one.
    /// </summary>
    /// <exception cref="SnapshotToolsException">InvalidPolicy: the existing file is not valid YAML (it is left alone).</exception>
    public static void Save(SnapshotToolsConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string? existing = File.Exists(full) ? File.ReadAllText(full) : null;
        if (existing != null)
        {
            // Refuse to overwrite a file we cannot read: the user may be halfway through editing it.
            ConfigYaml.Parse(existing, full);
        }
        string text = ConfigYaml.Render(config, existing);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".new";
        using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(output))
        {
            writer.Write(text);
            writer.Flush();
            output.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }
}
