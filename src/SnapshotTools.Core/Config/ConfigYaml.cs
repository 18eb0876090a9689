using System.Globalization;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SnapshotTools.Core;

/// <summary>
/// The YAML side of <see cref="ConfigFile"/>. YamlDotNet types stay inside this internal class, so no public signature
/// of the module carries them (other modules load other YamlDotNet versions).
/// </summary>
internal static class ConfigYaml
{
    internal const string KnownKeys = "store, repository, repositories, compression, compression-level, exclusions, retention";
    private const string RetentionKeys = "keep-last, keep-daily, keep-weekly, keep-monthly, keep-yearly, time-zone";

    public static SnapshotToolsConfig Parse(string yaml, string source)
    {
        YamlMappingNode? root = LoadRoot(yaml, source);
        var config = new SnapshotToolsConfig();
        if (root == null)
        {
            return config;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<YamlNode, YamlNode> pair in root.Children)
        {
            string key = KeyName(source, pair.Key);
            if (!seen.Add(key))
            {
                throw Invalid(source, pair.Key.Start, $"'{key}' is given twice");
            }
            YamlNode value = pair.Value;
            switch (key)
            {
                case "store":
                    config = config with { Store = Text(source, key, value) };
                    break;
                case "repository":
                    config = config with { Repository = Text(source, key, value) };
                    break;
                case "repositories":
                    config = config with { Repositories = ReadRepositories(source, value) };
                    break;
                case "compression":
                    config = config with { Compression = ReadCompression(source, value) };
                    break;
                case "compression-level":
                    config = config with { CompressionLevel = ReadInt(source, key, value, 0, 22) };
                    break;
                case "exclusions":
                    config = config with { Exclusions = ReadList(source, key, value) };
                    break;
                case "retention":
                    config = config with { Retention = ReadRetention(source, value) };
                    break;
                default:
                    // Unknown keys are kept for newer versions (and written back by Save); they are not an error.
                    break;
            }
        }
        return config;
    }

    public static string Render(SnapshotToolsConfig config, string? existingYaml)
    {
        YamlMappingNode root = (existingYaml == null ? null : LoadRoot(existingYaml, "the existing configuration")) ?? new YamlMappingNode();
        Set(root, "store", config.Store == null ? null : new YamlScalarNode(config.Store));
        Set(root, "repository", config.Repository == null ? null : new YamlScalarNode(config.Repository));
        YamlMappingNode? repositories = null;
        if (config.Repositories.Count > 0)
        {
            repositories = new YamlMappingNode();
            foreach (KeyValuePair<string, string> r in config.Repositories.OrderBy(r => r.Key, StringComparer.OrdinalIgnoreCase))
            {
                repositories.Add(new YamlScalarNode(r.Key), new YamlScalarNode(r.Value));
            }
        }
        Set(root, "repositories", repositories);
        Set(root, "compression", config.Compression == null ? null : new YamlScalarNode(config.Compression.Value.ToString().ToLowerInvariant()));
        Set(root, "compression-level", config.CompressionLevel == null ? null : new YamlScalarNode(config.CompressionLevel.Value.ToString(CultureInfo.InvariantCulture)));
        YamlSequenceNode? exclusions = null;
        if (config.Exclusions.Count > 0)
        {
            exclusions = new YamlSequenceNode(config.Exclusions.Select(e => (YamlNode)new YamlScalarNode(e)));
        }
        Set(root, "exclusions", exclusions);
        YamlMappingNode? retention = null;
        if (config.Retention is RetentionSettings r0)
        {
            retention = new YamlMappingNode();
            void Count(string key, int n)
            {
                if (n != 0)
                {
                    retention.Add(new YamlScalarNode(key), new YamlScalarNode(n.ToString(CultureInfo.InvariantCulture)));
                }
            }
            Count("keep-last", r0.KeepLast);
            Count("keep-daily", r0.KeepDaily);
            Count("keep-weekly", r0.KeepWeekly);
            Count("keep-monthly", r0.KeepMonthly);
            Count("keep-yearly", r0.KeepYearly);
            if (r0.TimeZone != null)
            {
                retention.Add(new YamlScalarNode("time-zone"), new YamlScalarNode(r0.TimeZone));
            }
        }
        Set(root, "retention", retention);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        writer.Write("# SnapshotTools settings (Get-SnapshotToolsConfig, Set-SnapshotToolsConfig; see about_SnapshotTools).\n");
        if (root.Children.Count > 0)
        {
            new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        }
        string text = writer.ToString().Replace("\r\n", "\n");
        // YamlDotNet ends a document with an explicit "..." marker; a hand-edited settings file reads better without it.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text.Substring(0, text.Length - 4);
        }
        return text.EndsWith('\n') ? text : text + "\n";
    }

    private static YamlMappingNode? LoadRoot(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw Invalid(source, ex.Start, Reason(ex));
        }
        if (stream.Documents.Count == 0)
        {
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            throw Invalid(source, stream.Documents[1].RootNode.Start, "it holds more than one YAML document");
        }
        YamlNode root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return null;
        }
        if (root is not YamlMappingNode mapping)
        {
            throw Invalid(source, root.Start, $"the settings are a mapping of keys ({KnownKeys}), not a {Describe(root)}");
        }
        return mapping;
    }

    private static void Set(YamlMappingNode root, string key, YamlNode? value)
    {
        YamlNode? existing = root.Children.Keys.FirstOrDefault(k => k is YamlScalarNode s && s.Value != null && Normalize(s.Value) == key);
        if (existing != null)
        {
            if (value == null)
            {
                root.Children.Remove(existing);
            }
            else
            {
                root.Children[existing] = value;
            }
        }
        else if (value != null)
        {
            root.Children.Add(new YamlScalarNode(key), value);
        }
    }

    private static IReadOnlyDictionary<string, string> ReadRepositories(string source, YamlNode value)
    {
        if (value is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        }
        if (value is not YamlMappingNode mapping)
        {
            throw Invalid(source, value.Start, $"'repositories' maps names to folders (offsite: /mnt/offsite), not a {Describe(value)}");
        }
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<YamlNode, YamlNode> pair in mapping.Children)
        {
            if (pair.Key is not YamlScalarNode k || string.IsNullOrWhiteSpace(k.Value))
            {
                throw Invalid(source, pair.Key.Start, "a repository name must be plain text");
            }
            string name = k.Value.Trim();
            if (result.ContainsKey(name))
            {
                throw Invalid(source, pair.Key.Start, $"repository '{name}' is given twice");
            }
            result[name] = Text(source, $"repositories.{name}", pair.Value)
                ?? throw Invalid(source, pair.Value.Start, $"repository '{name}' needs a folder");
        }
        return result;
    }

    private static StreamCompression ReadCompression(string source, YamlNode value)
    {
        string? text = Text(source, "compression", value);
        if (text != null && Enum.TryParse(text, ignoreCase: true, out StreamCompression c) && Enum.IsDefined(c) && !int.TryParse(text, out _))
        {
            return c;
        }
        throw Invalid(source, value.Start, $"'compression' must be none, deflate, brotli or zstd, not '{text}'");
    }

    private static IReadOnlyList<string> ReadList(string source, string key, YamlNode value)
    {
        if (value is YamlScalarNode scalar)
        {
            // A single pattern may be written without the list.
            return string.IsNullOrWhiteSpace(scalar.Value) || scalar.Value is "~" or "null" ? Array.Empty<string>() : new[] { scalar.Value.Trim() };
        }
        if (value is not YamlSequenceNode sequence)
        {
            throw Invalid(source, value.Start, $"'{key}' must be a list of volume name patterns, not a {Describe(value)}");
        }
        var result = new List<string>();
        foreach (YamlNode item in sequence.Children)
        {
            result.Add(Text(source, key, item) ?? throw Invalid(source, item.Start, $"an item of '{key}' is empty"));
        }
        return result;
    }

    private static RetentionSettings? ReadRetention(string source, YamlNode value)
    {
        if (value is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return null;
        }
        if (value is not YamlMappingNode mapping)
        {
            throw Invalid(source, value.Start, $"'retention' is a mapping of {RetentionKeys}, not a {Describe(value)}");
        }
        var settings = new RetentionSettings();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<YamlNode, YamlNode> pair in mapping.Children)
        {
            string key = KeyName(source, pair.Key);
            if (!key.StartsWith("keep-", StringComparison.Ordinal) && key is not ("time-zone" or "timezone"))
            {
                key = "keep-" + key;
            }
            if (!seen.Add(key))
            {
                throw Invalid(source, pair.Key.Start, $"'retention.{key}' is given twice");
            }
            settings = key switch
            {
                "keep-last" => settings with { KeepLast = ReadInt(source, key, pair.Value, 0, 1_000_000) },
                "keep-daily" => settings with { KeepDaily = ReadInt(source, key, pair.Value, 0, 1_000_000) },
                "keep-weekly" => settings with { KeepWeekly = ReadInt(source, key, pair.Value, 0, 1_000_000) },
                "keep-monthly" => settings with { KeepMonthly = ReadInt(source, key, pair.Value, 0, 1_000_000) },
                "keep-yearly" => settings with { KeepYearly = ReadInt(source, key, pair.Value, 0, 1_000_000) },
                "time-zone" or "timezone" => settings with { TimeZone = Text(source, key, pair.Value) },
                _ => throw Invalid(source, pair.Key.Start, $"unknown retention setting '{key}'; the settings are {RetentionKeys}"),
            };
        }
        return settings;
    }

    private static int ReadInt(string source, string key, YamlNode value, int min, int max)
    {
        string? text = Text(source, key, value);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
        {
            throw Invalid(source, value.Start, $"'{key}' must be a whole number, not '{text}'");
        }
        if (n < min || n > max)
        {
            throw Invalid(source, value.Start, $"'{key}' must be from {min} to {max}, not {n}");
        }
        return n;
    }

    private static string? Text(string source, string key, YamlNode value)
    {
        if (value is not YamlScalarNode scalar)
        {
            throw Invalid(source, value.Start, $"'{key}' must be a single value, not a {Describe(value)}");
        }
        if (scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null")
        {
            return null;
        }
        return scalar.Value?.Trim();
    }

    private static string KeyName(string source, YamlNode key)
    {
        if (key is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
        {
            throw Invalid(source, key.Start, "a setting name must be plain text");
        }
        return Normalize(scalar.Value);
    }

    private static string Normalize(string key) => key.Trim().ToLowerInvariant().Replace('_', '-');

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    private static string Reason(YamlException ex)
    {
        // YamlDotNet prefixes its messages with the position; the position is reported separately.
        string message = ex.Message;
        int dash = message.IndexOf("): ", StringComparison.Ordinal);
        return dash >= 0 && message.StartsWith('(') ? message.Substring(dash + 3) : message;
    }

    private static SnapshotToolsException Invalid(string source, Mark at, string reason) =>
        new(SnapshotErrorCode.InvalidPolicy, $"Invalid configuration in {Quote(source)} at line {at.Line}, column {at.Column}: {reason}.");

    private static string Quote(string source) => source.StartsWith('\'') || source.StartsWith("the ", StringComparison.Ordinal) ? source : $"'{source}'";
}
