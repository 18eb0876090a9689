using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Backup repository: merging a chain into a synthetic full backup.</summary>
public class RepositoryMergeTests
{
    [Fact]
    public void MergeMakesAVerifiedSyntheticFullThatLaterBackupsChainFrom()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 4);

        BackupInfo merged = repo.Merge(b[2].BackupId);
        Assert.Equal(BackupKind.Full, merged.Kind);
        Assert.True(merged.IsSynthetic);
        Assert.Equal(b[2].BackupId, merged.MergedFrom);
        Assert.Equal(b[2].ToSnapshotId, merged.ToSnapshotId);
        Assert.Equal("s3", merged.ToSnapshotName);
        Assert.Equal(b[2].ToSequence, merged.ToSequence);
        Assert.Equal(b[2].ToSnapshotCreatedUtc, merged.ToSnapshotCreatedUtc);
        Assert.Equal(b[2].VolumeSize, merged.VolumeSize);
        Assert.Equal("db01", merged.VolumeName);
        Assert.False(Directory.Exists(Path.Combine(kit.RepositoryPath, "tmp")));
        Assert.True(repo.Verify(merged.BackupId, deep: true, volume: source).IsValid);

        repo.RestoreToImage(merged.BackupId, kit.PathFor("s3.img"));
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s3"), File.ReadAllBytes(kit.PathFor("s3.img")));

        // The incremental that was based on the merged backup now chains from the synthetic full.
        Assert.Equal(new[] { merged.BackupId, b[3].BackupId }, repo.Chain(b[3].BackupId).Select(x => x.BackupId));
        // So the old chain can go, and the rest still restores.
        IReadOnlyList<BackupInfo> removed = repo.Remove(b[0].BackupId, withDependents: true);
        Assert.Equal(new[] { b[0].BackupId, b[1].BackupId, b[2].BackupId }, removed.Select(x => x.BackupId));
        repo.RestoreToVolume(b[3].BackupId, kit.PathFor("s4"));
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s4"), RepositoryTestKit.ReadRestored(kit.PathFor("s4"), "s4"));

        // A new incremental from s3 (a branch) chains from the synthetic full too.
        RepositoryTestKit.Mutate(source, new Random(8));
        source.CreateSnapshot("s5");
        BackupInfo branch = repo.Export(source, "s3", "s5");
        Assert.Equal(merged.BackupId, branch.BaseBackupId);
        repo.RestoreToImage(branch.BackupId, kit.PathFor("s5.img"));
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s5"), File.ReadAllBytes(kit.PathFor("s5.img")));
    }

    [Fact]
    public void MergeRefusesAFullBackupAndASecondMergeOfTheSamePoint()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 2);
        Assert.Equal(SnapshotErrorCode.InvalidArgument, Assert.Throws<SnapshotToolsException>(() => repo.Merge(b[0].BackupId)).Code);
        repo.Merge(b[1].BackupId);
        Assert.Equal(SnapshotErrorCode.DuplicateBackup, Assert.Throws<SnapshotToolsException>(() => repo.Merge(b[1].BackupId)).Code);
        Assert.Equal(3, repo.List().Count);
    }

    [Fact]
    public void MergingAnEncryptedChainKeepsItEncrypted()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        byte[] key = StreamKey.Generate();
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 3, options: new DeltaStreamOptions { Key = key });
        Assert.Equal(SnapshotErrorCode.KeyRequired, Assert.Throws<SnapshotToolsException>(() => repo.Merge(b[2].BackupId)).Code);
        BackupInfo merged = repo.Merge(b[2].BackupId, key: key);
        Assert.True(merged.Encrypted);
        repo.RestoreToImage(merged.BackupId, kit.PathFor("m.img"), key: key);
        Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s3"), File.ReadAllBytes(kit.PathFor("m.img")));
    }
}
