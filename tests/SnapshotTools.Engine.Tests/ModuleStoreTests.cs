using SnapshotTools.Core;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public sealed class ModuleStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "st-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private VolumeStore MakeStore(params string[] volumes)
    {
        var store = new VolumeStore(_root);
        foreach (string v in volumes)
        {
            VolumeOperations.Create(store.ResolveNew(v), 1 << 20, 4096, ProtectionMode.PreserveAndFilter, recreate: false);
        }
        Directory.CreateDirectory(Path.Combine(_root, "not-a-volume"));
        return store;
    }

    [Theory]
    [InlineData("db01", false)]
    [InlineData("./db01", true)]
    [InlineData("../x", true)]
    [InlineData("/srv/db01", true)]
    [InlineData("sub/db01", true)]
    [InlineData(@"C:\v\db01", true)]
    [InlineData("~/db01", true)]
    public void Names_and_paths_are_told_apart(string value, bool isPath)
    {
        Assert.Equal(isPath, VolumeStore.IsPath(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" lead")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a*")]
    [InlineData("a?b")]
    [InlineData("a:b")]
    public void Bad_volume_names_are_refused(string name)
    {
        var ex = Assert.Throws<SnapshotToolsException>(() => VolumeStore.ValidateName(name));
        Assert.Equal(SnapshotErrorCode.InvalidArgument, ex.Code);
    }

    [Fact]
    public void Resolves_names_into_the_store_and_paths_as_given()
    {
        var store = new VolumeStore(_root, p => Path.GetFullPath(p, "/work/here"));
        Assert.Equal(Path.Combine(store.Root, "db01"), store.Resolve("db01").Path);
        Assert.Equal("db01", store.Resolve("db01").Name);
        Assert.Equal("/work/here/rel/vol", store.Resolve("./rel/vol/").Path);
        Assert.Equal("vol", store.Resolve("./rel/vol").Name);
        Assert.Equal("odd[1]", store.Resolve("odd`[1`]").Name);
    }

    [Fact]
    public void Lists_only_volumes_by_name()
    {
        VolumeStore store = MakeStore("web", "db02", "db01");
        Assert.Equal(new[] { "db01", "db02", "web" }, store.List().Select(v => v.Name));
        Assert.Empty(new VolumeStore(Path.Combine(_root, "missing")).List());
    }

    [Fact]
    public void Expands_wildcards_with_exclusions_and_keeps_literals()
    {
        VolumeStore store = MakeStore("db01", "db02", "scratch-1", "web");
        IReadOnlyList<VolumeLocation> all = store.Expand(new[] { "*" }, new[] { "scratch-*" }, out IReadOnlyList<VolumeLocation> excluded);
        Assert.Equal(new[] { "db01", "db02", "web" }, all.Select(v => v.Name));
        Assert.Equal(new[] { "scratch-1" }, excluded.Select(v => v.Name));
        // A name given literally is never excluded, and a missing one is still returned for the caller to report.
        IReadOnlyList<VolumeLocation> literal = store.Expand(new[] { "scratch-1", "nope", "db*", "db01" }, new[] { "scratch-*" }, out _);
        Assert.Equal(new[] { "scratch-1", "nope", "db01", "db02" }, literal.Select(v => v.Name));
        Assert.Empty(store.Expand(new[] { "zz*" }, null, out _));
    }

    [Fact]
    public void Repositories_resolve_by_configured_name_path_or_default()
    {
        var env = new ModuleEnvironment(_ => null, false, "/home/ann");
        var config = new SnapshotToolsConfig { Repository = "offsite", Repositories = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["offsite"] = "/mnt/off", ["home"] = "~/bk" } };
        Assert.Equal("/mnt/off", RepositoryResolver.Resolve(null, config, null, env));
        Assert.Equal("/home/ann/bk", RepositoryResolver.Resolve("HOME", config, null, env));
        Assert.Equal("/srv/b", RepositoryResolver.Resolve("/srv/b", config, null, env));
        Assert.Equal(Path.GetFullPath("unknown-name"), RepositoryResolver.Resolve("unknown-name", config, null, env));
        var ex = Assert.Throws<SnapshotToolsException>(() => RepositoryResolver.Resolve(null, new SnapshotToolsConfig(), null, env));
        Assert.Equal(SnapshotErrorCode.RepositoryNotFound, ex.Code);
        Assert.Equal(new[] { "home", "offsite" }, RepositoryResolver.Names(config));
    }

    [Fact]
    public void Completion_offers_volumes_snapshots_repositories_and_quotes_when_needed()
    {
        VolumeStore store = MakeStore("db01", "db02", "web", "with space");
        Assert.Equal(new[] { "db01", "db02" }, CompletionSource.Volumes(store, "d").Select(c => c.CompletionText));
        Assert.Equal(new[] { "'with space'" }, CompletionSource.Volumes(store, "'wi").Select(c => c.CompletionText));
        Assert.Equal(4, CompletionSource.Volumes(store, "").Count);
        Assert.Empty(CompletionSource.Volumes(new VolumeStore(Path.Combine(_root, "missing")), ""));

        VolumeLocation db01 = store.Resolve("db01");
        SnapshotOperations.Create(db01, "nightly-1", null);
        SnapshotOperations.Create(db01, "nightly-2", "second");
        SnapshotOperations.Create(db01, "weekly", null);
        Assert.Equal(new[] { "nightly-2", "nightly-1" }, CompletionSource.Snapshots(db01, "night").Select(c => c.CompletionText));
        Assert.Contains("second", CompletionSource.Snapshots(db01, "nightly-2").Single().ToolTip);
        Assert.Empty(CompletionSource.Snapshots(store.Resolve("nope"), ""));
        Assert.Empty(CompletionSource.Snapshots(null, ""));

        // A volume in use offers nothing rather than failing.
        using (VolumeOperations.Open(db01))
        {
            Assert.Empty(CompletionSource.Snapshots(db01, ""));
        }

        var config = new SnapshotToolsConfig { Repositories = new Dictionary<string, string> { ["offsite"] = "/o", ["local"] = "/l" } };
        Assert.Equal(new[] { "offsite" }, CompletionSource.Repositories(config, "of").Select(c => c.CompletionText));
        Assert.Equal("'it''s'", CompletionSource.Quote("it's"));
        Assert.Equal("'a`[1`]'", CompletionSource.Quote("a[1]"));
        Assert.Equal("plain", CompletionSource.Quote("plain"));
    }
}
