using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Every snapshot's log but the newest keeps a frozen (compressed, immutable) index. A delete that merges records
/// into a frozen log thaws it and freezes it again; the log reads exactly as a mutable one would, before and after
/// the merge and after the volume is reopened.
/// </summary>
public class FrozenIndexVolumeTests
{
    private const int Chunks = 512;

    [Fact]
    public void FrozenLogsReadTheSameAfterMergesAndReopen()
    {
        var storage = new MemoryStorage();
        var rng = new Random(42);
        var images = new Dictionary<string, byte[]>();
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = Chunks * C, ChunkSize = C });
        try
        {
            for (int c = 0; c < Chunks; c += 2)
            {
                v.Write(c * C, Label($"i{c}"));
            }
            for (int s = 1; s <= 5; s++)
            {
                v.CreateSnapshot($"S{s}");
                images[$"S{s}"] = ReadAll(v, $"S{s}");
                Change(v, rng, s);
            }
            AssertForms(v, "S1", "S2", "S3", "S4");
            Assert.False(v.LogOf("S5").IsFrozen);
            AssertExact(v, images);

            // A middle delete merges S3's records into S2, which is frozen again afterwards.
            long before = v.LogOf("S2").ChunkCount;
            v.DeleteSnapshot("S3");
            images.Remove("S3");
            Assert.True(v.LogOf("S2").ChunkCount > before);
            AssertForms(v, "S1", "S2", "S4");
            AssertExact(v, images);

            // Deleting the newest merges into S4, which becomes the newest: mutable, and takes writes.
            v.DeleteSnapshot("S5");
            images.Remove("S5");
            Assert.False(v.LogOf("S4").IsFrozen);
            AssertExact(v, images);
            Change(v, rng, 6);
            v.CreateSnapshot("S6");
            images["S6"] = ReadAll(v, "S6");
            Change(v, rng, 7);
            AssertForms(v, "S1", "S2", "S4");
            AssertExact(v, images);

            // The oldest goes without a merge.
            v.DeleteSnapshot("S1");
            images.Remove("S1");
            AssertExact(v, images);

            Dictionary<string, List<(long, PreservedKind)>> entries = v.Snapshots.ToDictionary(s => s.Name, s => v.LogOf(s.Name).Entries());
            Dictionary<string, string> deltas = Deltas(v);
            byte[] live = ReadAll(v, null);
            v.Dispose();

            v = Volume.Open(storage);
            AssertForms(v, "S2", "S4");
            Assert.False(v.LogOf("S6").IsFrozen);
            foreach ((string name, List<(long, PreservedKind)> list) in entries)
            {
                Assert.Equal(list, v.LogOf(name).Entries());
            }
            Assert.Equal(deltas, Deltas(v));
            Assert.True(live.AsSpan().SequenceEqual(ReadAll(v, null)));
            AssertExact(v, images);

            // After reopen, a merge into a frozen log again reads the same.
            v.DeleteSnapshot("S4");
            images.Remove("S4");
            AssertForms(v, "S2");
            AssertExact(v, images);
        }
        finally
        {
            v.Dispose();
        }
    }

    /// <summary>Writes, zeroes and discards random chunks (whole or in part), so the logs hold mixed kinds.</summary>
    private static void Change(Volume v, Random rng, int round)
    {
        for (int i = 0; i < 60; i++)
        {
            long c = rng.Next(Chunks);
            switch (rng.Next(4))
            {
                case 0:
                    v.WriteZeroes(c * C, C);
                    break;
                case 1:
                    v.Discard(c * C, C);
                    break;
                default:
                    v.Write(c * C, Label($"r{round}c{c}"));
                    break;
            }
        }
        // A long run, so some merges move consecutive chunks.
        long first = rng.Next(Chunks - 40);
        v.Write(first * C, new byte[40 * C]);
    }

    private static void AssertForms(Volume v, params string[] frozen)
    {
        foreach (SnapshotInfo s in v.Snapshots)
        {
            Assert.Equal(frozen.Contains(s.Name), v.LogOf(s.Name).IsFrozen);
        }
    }

    private static void AssertExact(Volume v, Dictionary<string, byte[]> images)
    {
        foreach ((string name, byte[] image) in images)
        {
            Assert.True(image.AsSpan().SequenceEqual(ReadAll(v, name)), $"snapshot {name} reads differently");
        }
    }

    private static Dictionary<string, string> Deltas(Volume v)
    {
        var result = new Dictionary<string, string>();
        var names = v.Snapshots.Select(s => s.Name).ToList();
        for (int a = 0; a < names.Count; a++)
        {
            for (int b = a + 1; b <= names.Count; b++)
            {
                string? to = b < names.Count ? names[b] : null;
                result[$"{names[a]}->{to ?? "live"}"] = DescribeDelta(v.GetDelta(names[a], to));
            }
        }
        return result;
    }
}
