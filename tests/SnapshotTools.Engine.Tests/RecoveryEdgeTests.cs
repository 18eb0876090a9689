using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Open-time recovery decisions that must never lose data silently.</summary>
public class RecoveryEdgeTests
{
    private const int C = 4096;

    [Fact]
    public void DamagedNewestMetadataKeepsTheFilesOfASnapshotTheOlderCopyDoesNotList()
    {
        var storage = new MemoryStorage();
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        v.Write(0, new byte[C]);
        v.CreateSnapshot("s1");
        v.Write(0, new byte[] { 1 });
        SnapshotInfo s2 = v.CreateSnapshot("s2");
        // The machine stops right after the snapshot: the newest copy lists s2, the other copy (written by the flush
        // that precedes the snapshot) does not.
        MemoryStorage disk = storage.CrashImage(new Random(1));
        string[] copies = { "volume.meta.0", "volume.meta.1" };
        string newest = copies.OrderByDescending(c => BitConverter.ToUInt64(disk.ReadAllBytes(c), 16)).First();
        byte[] bytes = disk.ReadAllBytes(newest);
        bytes[100] ^= 0xFF;
        disk.WriteAllBytes(newest, bytes);

        using Volume reopened = Volume.Open(disk);
        Assert.Equal(new[] { "s1" }, reopened.Snapshots.Select(s => s.Name));
        Assert.Contains($"orphan-snap-{s2.Sequence:D8}.idx", disk.List());
        Assert.Contains($"orphan-snap-{s2.Sequence:D8}.dat", disk.List());
        Assert.Contains(reopened.Recovery.Messages, m => m.Contains("orphan-"));
        // A new snapshot does not reuse the kept store's sequence number.
        Assert.True(reopened.CreateSnapshot("s3").Sequence > s2.Sequence);
        byte[] buf = new byte[C];
        reopened.ReadSnapshot("s1", 0, buf);
        Assert.All(buf, b => Assert.Equal(0, b));
    }

    [Fact]
    public void MissingLiveDataFileIsCorruptionNotAnEmptyVolume()
    {
        var storage = new MemoryStorage();
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            v.Write(0, new byte[] { 1, 2, 3 });
        }
        storage.Delete("live.dat");
        var ex = Assert.Throws<SnapshotToolsException>(() => Volume.Open(storage));
        Assert.Equal(SnapshotErrorCode.CorruptMetadata, ex.Code);
        Assert.Contains("live.dat", ex.Message);
    }
}
