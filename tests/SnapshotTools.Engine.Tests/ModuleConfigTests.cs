using SnapshotTools.Core;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public sealed class ModuleConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "st-config-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private const string Full = """
        store: /srv/volumes
        repository: offsite
        repositories:
          offsite: /mnt/offsite/backups
          local: /backups
        compression: Brotli
        compression-level: 5
        exclusions:
          - scratch-*
          - tmp?
        retention:
          keep-last: 3
          keep-daily: 7
          weekly: 4
          time-zone: UTC
        future-setting: { kept: true }
        """;

    [Fact]
    public void Parses_every_setting()
    {
        SnapshotToolsConfig c = ConfigFile.Parse(Full);
        Assert.Equal("/srv/volumes", c.Store);
        Assert.Equal("offsite", c.Repository);
        Assert.Equal("/mnt/offsite/backups", c.Repositories["OFFSITE"]);
        Assert.Equal(StreamCompression.Brotli, c.Compression);
        Assert.Equal(5, c.CompressionLevel);
        Assert.Equal(new[] { "scratch-*", "tmp?" }, c.Exclusions);
        Assert.Equal(new RetentionSettings { KeepLast = 3, KeepDaily = 7, KeepWeekly = 4, TimeZone = "UTC" }, c.Retention);
        Assert.Equal("keep-last 3, keep-daily 7, keep-weekly 4 (UTC)", c.Retention!.ToString());
        Assert.Equal(3, c.Retention.ToPolicy().KeepLast);
    }

    [Fact]
    public void Missing_or_empty_file_gives_defaults()
    {
        SnapshotToolsConfig missing = ConfigFile.Load(Path.Combine(_dir, "none.yaml"));
        Assert.False(missing.Exists);
        Assert.Null(missing.Store);
        Assert.Equal(StreamCompression.Deflate, missing.EffectiveCompression);
        Assert.Equal(1, missing.EffectiveCompressionLevel);
        Assert.Null(ConfigFile.Parse("").Store);
        Assert.Null(ConfigFile.Parse("# only a comment\n").Store);
        Assert.Equal(new[] { "one" }, ConfigFile.Parse("exclusions: one").Exclusions);
    }

    [Theory]
    [InlineData("compression: lz77", "line 1", "'compression' must be none, deflate, brotli or zstd")]
    [InlineData("compression: 1", "line 1", "'compression' must be")]
    [InlineData("store: /a\nstore: /b", "line 2", "uplicate key")]
    [InlineData("compression-level: fast", "line 1", "whole number")]
    [InlineData("compression-level: 99", "line 1", "from 0 to 22")]
    [InlineData("- a\n- b", "line 1", "mapping of keys")]
    [InlineData("retention:\n  keep-hourly: 3", "line 2", "unknown retention setting 'keep-hourly'")]
    [InlineData("retention:\n  keep-last: -1", "line 2", "from 0 to 1000000")]
    [InlineData("repositories: [a, b]", "line 1", "maps names to folders")]
    [InlineData("store: [a, b]", "line 1", "single value")]
    [InlineData("store: 'unterminated", "line 1", "Invalid configuration")]
    public void Invalid_files_name_the_line_and_the_problem(string yaml, string where, string what)
    {
        var ex = Assert.Throws<SnapshotToolsException>(() => ConfigFile.Parse(yaml, "'cfg.yaml'"));
        Assert.Equal(SnapshotErrorCode.InvalidPolicy, ex.Code);
        Assert.Contains("'cfg.yaml'", ex.Message);
        Assert.Contains(where, ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void Save_round_trips_and_keeps_unknown_keys()
    {
        string path = Path.Combine(_dir, "sub", "config.yaml");
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "sub")).FullName, "config.yaml"), Full);
        SnapshotToolsConfig c = ConfigFile.Load(path);
        Assert.True(c.Exists);
        SnapshotToolsConfig changed = new ConfigChanges { Store = "/data/vol", Exclusions = Array.Empty<string>(), KeepDaily = 14 }.ApplyTo(c);
        ConfigFile.Save(changed, path);
        string text = File.ReadAllText(path);
        Assert.Contains("future-setting", text);
        Assert.DoesNotContain("exclusions", text);
        Assert.DoesNotContain("...", text);
        Assert.False(File.Exists(path + ".new"));
        SnapshotToolsConfig back = ConfigFile.Load(path);
        Assert.Equal("/data/vol", back.Store);
        Assert.Empty(back.Exclusions);
        Assert.Equal(14, back.Retention!.KeepDaily);
        Assert.Equal(3, back.Retention.KeepLast);
        Assert.Equal(StreamCompression.Brotli, back.Compression);
        Assert.Equal(2, back.Repositories.Count);
    }

    [Fact]
    public void Save_writes_values_that_need_quoting()
    {
        string path = Path.Combine(_dir, "q.yaml");
        var c = new SnapshotToolsConfig { Store = "C:\\Volumes: #1", Exclusions = new[] { "*", "[ab]*" }, Repository = "yes" };
        ConfigFile.Save(c, path);
        SnapshotToolsConfig back = ConfigFile.Load(path);
        Assert.Equal("C:\\Volumes: #1", back.Store);
        Assert.Equal(new[] { "*", "[ab]*" }, back.Exclusions);
        Assert.Equal("yes", back.Repository);
    }

    [Fact]
    public void Save_refuses_to_overwrite_a_file_it_cannot_read()
    {
        string path = Path.Combine(Directory.CreateDirectory(_dir).FullName, "broken.yaml");
        File.WriteAllText(path, "store: [unclosed");
        Assert.Throws<SnapshotToolsException>(() => ConfigFile.Save(new SnapshotToolsConfig { Store = "/x" }, path));
        Assert.Equal("store: [unclosed", File.ReadAllText(path));
    }

    [Fact]
    public void Changes_clear_with_empty_values_and_remove_repositories()
    {
        SnapshotToolsConfig c = ConfigFile.Parse(Full);
        SnapshotToolsConfig next = new ConfigChanges
        {
            Store = "",
            Repository = "",
            Repositories = new Dictionary<string, string?> { ["local"] = null, ["new"] = "/n" },
            CompressionLevel = -1,
            ClearRetention = true,
        }.ApplyTo(c);
        Assert.Null(next.Store);
        Assert.Null(next.Repository);
        Assert.Equal(new[] { "new", "offsite" }, next.Repositories.Keys.OrderBy(k => k));
        Assert.Null(next.CompressionLevel);
        Assert.Null(next.Retention);
        Assert.Equal(c.Exclusions, next.Exclusions);
    }

    [Fact]
    public void Changes_refuse_a_policy_that_keeps_nothing_or_an_unknown_zone()
    {
        var none = Assert.Throws<SnapshotToolsException>(() => new ConfigChanges { KeepLast = 0 }.ApplyTo(new SnapshotToolsConfig()));
        Assert.Equal(SnapshotErrorCode.InvalidPolicy, none.Code);
        var zone = Assert.Throws<SnapshotToolsException>(() => new ConfigChanges { KeepLast = 1, TimeZone = "Mars/Olympus" }.ApplyTo(new SnapshotToolsConfig()));
        Assert.Contains("Mars/Olympus", zone.Message);
    }

    [Fact]
    public void Retention_choice_prefers_file_then_parameters_then_configuration()
    {
        string file = Path.Combine(Directory.CreateDirectory(_dir).FullName, "policy.yaml");
        File.WriteAllText(file, "keep-last: 9\n");
        var config = new SnapshotToolsConfig { Retention = new RetentionSettings { KeepDaily = 5 }, Path = "/etc/x.yaml" };
        Assert.Equal(9, RetentionChoice.Resolve(file, new RetentionSettings { KeepLast = 2 }, config).KeepLast);
        Assert.Equal(2, RetentionChoice.Resolve(null, new RetentionSettings { KeepLast = 2 }, config).KeepLast);
        Assert.Equal(5, RetentionChoice.Resolve(null, null, config).KeepDaily);
        var ex = Assert.Throws<SnapshotToolsException>(() => RetentionChoice.Resolve(null, null, new SnapshotToolsConfig()));
        Assert.Equal(SnapshotErrorCode.InvalidPolicy, ex.Code);
    }

    [Fact]
    public void Default_locations_follow_the_platform_and_the_environment()
    {
        var vars = new Dictionary<string, string?>();
        var unix = new ModuleEnvironment(n => vars.GetValueOrDefault(n), IsWindows: false, HomeDirectory: "/home/ann");
        Assert.Equal("/home/ann/.config/snapshottools/config.yaml", unix.DefaultConfigPath);
        Assert.Equal("/home/ann/.local/share/snapshottools/volumes", unix.BuiltInStore);
        vars["XDG_CONFIG_HOME"] = "/cfg";
        vars["XDG_DATA_HOME"] = "/data";
        Assert.Equal("/cfg/snapshottools/config.yaml", unix.DefaultConfigPath);
        Assert.Equal("/data/snapshottools/volumes", unix.BuiltInStore);
        vars[ModuleEnvironment.ConfigVariable] = "/etc/st.yaml";
        Assert.Equal("/etc/st.yaml", unix.DefaultConfigPath);

        var winVars = new Dictionary<string, string?> { ["APPDATA"] = @"C:\Users\ann\AppData\Roaming", ["LOCALAPPDATA"] = @"C:\Users\ann\AppData\Local" };
        var win = new ModuleEnvironment(n => winVars.GetValueOrDefault(n), IsWindows: true, HomeDirectory: @"C:\Users\ann");
        Assert.EndsWith(Path.Combine("SnapshotTools", "config.yaml"), win.DefaultConfigPath);
        Assert.StartsWith(@"C:\Users\ann\AppData\Roaming", win.DefaultConfigPath);
        Assert.StartsWith(@"C:\Users\ann\AppData\Local", win.BuiltInStore);
    }

    [Fact]
    public void Store_choice_prefers_argument_then_environment_then_configuration()
    {
        var vars = new Dictionary<string, string?>();
        var env = new ModuleEnvironment(n => vars.GetValueOrDefault(n), false, "/home/ann");
        var config = new SnapshotToolsConfig { Store = "~/vols" };
        Assert.Equal("/home/ann/vols", env.ResolveStore(null, config));
        vars[ModuleEnvironment.StoreVariable] = "/env/store";
        Assert.Equal("/env/store", env.ResolveStore(null, config));
        Assert.Equal("/arg/store", env.ResolveStore("/arg/store", config));
        vars.Clear();
        Assert.Equal("/home/ann/.local/share/snapshottools/volumes", env.ResolveStore(null, new SnapshotToolsConfig()));
        SnapshotToolsConfig shown = env.Describe(new SnapshotToolsConfig { Repository = "off", Repositories = new Dictionary<string, string> { ["off"] = "~/b" } });
        Assert.Equal("/home/ann/b", shown.EffectiveRepository);
        Assert.Equal("/home/ann/.local/share/snapshottools/volumes", shown.EffectiveStore);
    }
}
