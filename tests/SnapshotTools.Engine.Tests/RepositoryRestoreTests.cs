using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Backup repository: export, list, chains, and restoring every point in time to a volume and to an image.</summary>
public class RepositoryRestoreTests
{
    private const int C = RepositoryTestKit.C;

    [Theory]
    [InlineData(StreamCompression.None)]
    [InlineData(StreamCompression.Deflate)]
    public void FullPlusIncrementalsRestoreEveryPointToVolumeAndImage(StreamCompression compression)
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        var options = new DeltaStreamOptions { Compression = compression };
        var rng = new Random(11);
        var backups = new List<BackupInfo>();
        for (int i = 1; i <= 6; i++)
        {
            if (i > 1)
            {
                RepositoryTestKit.Mutate(source, rng);
            }
            if (i == 3)
            {
                source.Resize(source.Size + 5 * C + 77); // grow
            }
            if (i == 5)
            {
                source.Resize(source.Size - 9 * C); // shrink below the grown part
            }
            if (i == 6)
            {
                source.Resize(source.Size + 6 * C); // and grow again: the old bytes there must not come back
            }
            source.CreateSnapshot("s" + i, "point " + i);
            backups.Add(repo.Export(source, i == 1 ? null : "s" + (i - 1), "s" + i, options));
        }

        Assert.Equal(BackupKind.Full, backups[0].Kind);
        Assert.All(backups.Skip(1), b => Assert.Equal(BackupKind.Incremental, b.Kind));
        Assert.Equal(backups.Select(b => b.BackupId), repo.List().Select(b => b.BackupId));
        Assert.Equal(backups.Select(b => b.BackupId), repo.List(source.VolumeId).Select(b => b.BackupId));
        Assert.Empty(repo.List(Guid.NewGuid()));
        Assert.Equal(backups.Select(b => b.BackupId), repo.Chain(backups[^1].BackupId).Select(b => b.BackupId));
        for (int i = 1; i < backups.Count; i++)
        {
            Assert.Equal(backups[i - 1].BackupId, backups[i].BaseBackupId);
            Assert.Equal("s" + i, backups[i].FromSnapshotName);
        }
        BackupInfo third = repo.Get(backups[2].BackupId);
        Assert.Equal("db01", third.VolumeName);
        Assert.Equal(source.VolumeId, third.VolumeId);
        Assert.Equal(source.GetSnapshot("s3").Id, third.ToSnapshotId);
        Assert.Equal(source.GetSnapshot("s3").CreatedUtc, third.ToSnapshotCreatedUtc);
        Assert.Equal(source.GetSnapshot("s3").Size, third.VolumeSize);
        Assert.Equal(new FileInfo(Path.Combine(kit.RepositoryPath, third.FileName)).Length, third.StreamBytes);
        Assert.Equal(64, third.ContentSha256.Length);
        Assert.Equal(compression, third.Compression);
        Assert.False(third.Encrypted);

        for (int i = 0; i < backups.Count; i++)
        {
            string name = "s" + (i + 1);
            byte[] expected = RepositoryTestKit.ReadSnapshot(source, name);

            string dir = kit.PathFor("vol-" + name);
            RestoreResult r = repo.RestoreToVolume(backups[i].BackupId, dir);
            Assert.Equal(source.GetSnapshot(name).Id, r.Snapshot!.Id);
            Assert.Equal(name, r.Snapshot.Name);
            Assert.Equal(i + 1, r.Chain.Count);
            using (Volume restored = Volume.Open(dir))
            {
                Assert.Equal(source.VolumeId, restored.VolumeId);
                Assert.Equal(source.Generation, restored.Generation);
                Assert.Equal(expected, RepositoryTestKit.ReadSnapshot(restored, name));
                Assert.Equal(source.GetSnapshot(name).CreatedUtc, restored.GetSnapshot(name).CreatedUtc);
            }

            string image = kit.PathFor(name + ".img");
            repo.RestoreToImage(backups[i].BackupId, image);
            Assert.Equal(expected, File.ReadAllBytes(image));
        }
    }

    [Fact]
    public void RestoreWritesEachChunkOnceFromItsNewestVersion()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> backups = RepositoryTestKit.BackUpHistory(repo, source, 8, options: RepositoryTestKit.SmallRecords());

        RestoreResult r = repo.RestoreToImage(backups[^1].BackupId, kit.PathFor("last.img"));
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s8"), File.ReadAllBytes(kit.PathFor("last.img")));

        long replayData = backups.Sum(b => b.DataBytes);
        long replayRecords = backups.Sum(b => b.Records - 2); // HEADER and END apply nothing
        Assert.True(r.DataBytesWritten < replayData, $"wrote {r.DataBytesWritten} data bytes; replaying would write {replayData}");
        Assert.True(r.DataBytesWritten <= source.GetSnapshot("s8").Size);
        Assert.True(r.RecordsApplied < replayRecords, $"applied {r.RecordsApplied} records; replaying would apply {replayRecords}");
        Assert.True(r.BytesSuperseded > 0);
        // The hot region is rewritten before every snapshot: only its newest version is written.
        Assert.True(replayData - r.DataBytesWritten >= 7 * 4 * C);
    }

    [Fact]
    public void OlderBackupsAreNotReadOnceNewerOnesCoverEveryByte()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        source.CreateSnapshot("s1");
        BackupInfo full = repo.Export(source, null, "s1");
        byte[] all = new byte[source.Size];
        new Random(5).NextBytes(all);
        source.Write(0, all);
        source.CreateSnapshot("s2");
        BackupInfo incremental = repo.Export(source, "s1", "s2");

        RestoreResult r = repo.RestoreToVolume(incremental.BackupId, kit.PathFor("v"));
        Assert.Equal(1, r.BackupsRead);
        Assert.Equal(2, r.Chain.Count);
        Assert.Equal(all, RepositoryTestKit.ReadRestored(kit.PathFor("v"), "s2"));
        Assert.Equal(full.BackupId, r.Chain[0]);
    }

    [Fact]
    public void RestoredVolumeContinuesTheLineageSoLaterIncrementalsImport()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> backups = RepositoryTestKit.BackUpHistory(repo, source, 3);
        repo.RestoreToVolume(backups[^1].BackupId, kit.PathFor("replica"));

        RepositoryTestKit.Mutate(source, new Random(99));
        source.CreateSnapshot("s4");
        using var stream = new MemoryStream();
        DeltaStreamWriter.Write(source.GetDelta("s3", "s4"), stream);
        stream.Position = 0;
        using Volume replica = Volume.Open(kit.PathFor("replica"));
        DeltaImporter.Import(replica, stream);
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s4"), RepositoryTestKit.ReadSnapshot(replica, "s4"));
    }

    [Fact]
    public void ExportNextChainsFromTheNewestBackedUpSnapshotOrStartsWithAFull()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        source.CreateSnapshot("a");
        BackupInfo first = repo.ExportNext(source, "a");
        Assert.Equal(BackupKind.Full, first.Kind);
        RepositoryTestKit.Mutate(source, new Random(1));
        source.CreateSnapshot("b");
        RepositoryTestKit.Mutate(source, new Random(2));
        source.CreateSnapshot("c");
        BackupInfo next = repo.ExportNext(source, "c");
        Assert.Equal(BackupKind.Incremental, next.Kind);
        Assert.Equal(first.BackupId, next.BaseBackupId);
        Assert.Equal("a", next.FromSnapshotName);
        repo.RestoreToImage(next.BackupId, kit.PathFor("c.img"));
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "c"), File.ReadAllBytes(kit.PathFor("c.img")));
    }

    [Fact]
    public void EncryptedBackupsNeedTheirKey()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        byte[] key = StreamKey.Generate();
        List<BackupInfo> backups = RepositoryTestKit.BackUpHistory(repo, source, 2, options: new DeltaStreamOptions { Key = key });
        Assert.True(backups[1].Encrypted);
        Assert.NotNull(backups[1].KeyId);

        var missing = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToImage(backups[1].BackupId, kit.PathFor("x.img")));
        Assert.Equal(SnapshotErrorCode.KeyRequired, missing.Code);
        var wrong = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToImage(backups[1].BackupId, kit.PathFor("x.img"), key: StreamKey.Generate()));
        Assert.Equal(SnapshotErrorCode.WrongKey, wrong.Code);
        Assert.False(File.Exists(kit.PathFor("x.img")));
        Assert.False(File.Exists(kit.PathFor("x.img.partial")));

        repo.RestoreToImage(backups[1].BackupId, kit.PathFor("x.img"), key: key);
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s2"), File.ReadAllBytes(kit.PathFor("x.img")));
        Assert.True(repo.Verify(backups[1].BackupId, key: key).IsValid);
    }

    [Fact]
    public void RestoreRefusesExistingTargets()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        BackupInfo full = RepositoryTestKit.BackUpHistory(repo, source, 1)[0];
        File.WriteAllText(kit.PathFor("taken.img"), "keep me");
        var ex = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToImage(full.BackupId, kit.PathFor("taken.img")));
        Assert.Equal(SnapshotErrorCode.TargetExists, ex.Code);
        Assert.Equal("keep me", File.ReadAllText(kit.PathFor("taken.img")));
        repo.RestoreToImage(full.BackupId, kit.PathFor("taken.img"), overwrite: true);
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s1"), File.ReadAllBytes(kit.PathFor("taken.img")));

        repo.RestoreToVolume(full.BackupId, kit.PathFor("vol"));
        var exists = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToVolume(full.BackupId, kit.PathFor("vol")));
        Assert.Equal(SnapshotErrorCode.VolumeExists, exists.Code);
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s1"), RepositoryTestKit.ReadRestored(kit.PathFor("vol"), "s1"));

        var unknown = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToImage(Guid.NewGuid(), kit.PathFor("y.img")));
        Assert.Equal(SnapshotErrorCode.UnknownBackup, unknown.Code);
    }
}
