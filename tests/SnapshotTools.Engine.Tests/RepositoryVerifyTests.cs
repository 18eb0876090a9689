using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Backup repository: verifying streams and the catalog, deep comparison, damage and repair.</summary>
public class RepositoryVerifyTests
{
    private const int C = RepositoryTestKit.C;

    [Fact]
    public void SoundBackupsVerifyAndDeepModeComparesWithTheLiveSnapshot()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 3);

        BackupVerifyResult plain = repo.Verify(b[1].BackupId);
        Assert.True(plain.IsValid, string.Join(" ", plain.Problems));
        Assert.False(plain.DeepCompared);
        Assert.Equal(b[1].Records, plain.RecordsRead);
        Assert.Equal(b[1].StreamBytes, plain.BytesRead);

        BackupVerifyResult deepFull = repo.Verify(b[0].BackupId, deep: true, volume: source);
        Assert.True(deepFull.IsValid, string.Join(" ", deepFull.Problems));
        Assert.True(deepFull.DeepCompared);
        Assert.Equal(source.GetSnapshot("s1").Size, deepFull.BytesCompared); // every byte, holes included

        BackupVerifyResult deepIncremental = repo.Verify(b[2].BackupId, deep: true, volume: source);
        Assert.True(deepIncremental.IsValid && deepIncremental.DeepCompared);

        source.DeleteSnapshot("s2");
        BackupVerifyResult gone = repo.Verify(b[1].BackupId, deep: true, volume: source);
        Assert.True(gone.IsValid);
        Assert.False(gone.DeepCompared);
        Assert.Contains(gone.Notes, n => n.Contains("no longer exists"));

        Assert.All(repo.VerifyAll(), r => Assert.True(r.IsValid));
        Assert.Empty(repo.VerifyCatalog());
    }

    [Fact]
    public void DeepModeFindsABackupThatDiffersFromTheSnapshot()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        BackupInfo full = RepositoryTestKit.BackUpHistory(repo, source, 1)[0];

        // A volume of the same lineage whose snapshot of that id holds other bytes.
        using Volume impostor = Volume.Create(new MemoryStorage("impostor"), new VolumeCreateOptions
        {
            Size = full.VolumeSize, ChunkSize = C, VolumeId = full.VolumeId, Generation = full.Generation,
        });
        impostor.Write(0, RepositoryTestKit.ReadSnapshot(source, "s1"));
        impostor.Write(5 * C + 3, new byte[] { 1, 2, 3 });
        impostor.Write(40 * C, new byte[] { 9 }); // where the backup has a hole
        impostor.CreateSnapshotWithIdentity("s1", null, full.ToSnapshotId, full.ToSnapshotCreatedUtc);

        BackupVerifyResult r = repo.Verify(full.BackupId, deep: true, volume: impostor);
        Assert.True(r.DeepCompared);
        Assert.Equal(2, r.Problems.Count);
        Assert.Contains(r.Problems, p => p.Contains($"byte {5 * C + 3}"));
        Assert.Contains(r.Problems, p => p.Contains($"byte {40 * C}"));
    }

    [Fact]
    public void AFlippedByteAnywhereInAStoredBackupIsFoundAndStopsItsRestore()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 3, options: RepositoryTestKit.SmallRecords());
        string path = Path.Combine(kit.RepositoryPath, b[1].FileName);
        byte[] original = File.ReadAllBytes(path);

        var positions = new List<long> { 0, 8, 12, 20, original.Length - 1, original.Length - 40 };
        for (long p = 100; p < original.Length; p += original.Length / 37)
        {
            positions.Add(p);
        }
        foreach (long p in positions)
        {
            RepositoryTestKit.FlipByte(path, p);
            BackupVerifyResult r = repo.Verify(b[1].BackupId);
            Assert.False(r.IsValid, $"a flipped byte at offset {p} went unnoticed");
            File.WriteAllBytes(path, original);
        }
        Assert.True(repo.Verify(b[1].BackupId).IsValid);

        RepositoryTestKit.FlipByte(path, original.Length / 2);
        Assert.True(repo.Verify(b[0].BackupId).IsValid);
        Assert.True(repo.Verify(b[2].BackupId).IsValid); // its own stream is fine...
        Assert.Contains(repo.VerifyAll(), r => !r.IsValid && r.BackupId == b[1].BackupId);
        var ex = Assert.Throws<SnapshotToolsException>(() => repo.RestoreToVolume(b[2].BackupId, kit.PathFor("v")));
        Assert.Equal(SnapshotErrorCode.CorruptStream, ex.Code); // ...but its chain is not
        Assert.Contains(b[1].BackupId.ToString(), ex.Message);
        Assert.False(Directory.Exists(kit.PathFor("v")));
        Assert.Throws<SnapshotToolsException>(() => repo.RestoreToImage(b[2].BackupId, kit.PathFor("v.img")));
        Assert.False(File.Exists(kit.PathFor("v.img")) || File.Exists(kit.PathFor("v.img.partial")));

        // A truncated or missing stream is reported too.
        File.WriteAllBytes(path, original.AsSpan(0, original.Length - 10).ToArray());
        BackupVerifyResult cut = repo.Verify(b[1].BackupId);
        Assert.Contains(cut.Problems, p => p.Contains("bytes; the catalog records"));
        Assert.Contains(cut.Problems, p => p.Contains("truncated"));
        File.Delete(path);
        Assert.Contains(repo.Verify(b[1].BackupId).Problems, p => p.Contains("missing"));
        Assert.Contains(repo.VerifyCatalog(), p => p.Contains("missing"));
    }

    [Fact]
    public void AFlippedByteInACatalogEntryIsFoundKeptVisibleAndRepaired()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        List<BackupInfo> b;
        using (var repo = BackupRepository.Open(kit.RepositoryPath, create: true))
        {
            b = RepositoryTestKit.BackUpHistory(repo, source, 3);
        }
        string catalog = Path.Combine(kit.RepositoryPath, "catalog");
        List<(long Offset, int Length)> bodies = RepositoryTestKit.CatalogBodies(catalog);
        Assert.Equal(3, bodies.Count);
        RepositoryTestKit.FlipByte(catalog, bodies[1].Offset + bodies[1].Length / 2);

        using (var repo = BackupRepository.Open(kit.RepositoryPath))
        {
            Assert.Single(repo.CatalogProblems);
            Assert.Contains("checksum", repo.CatalogProblems[0]);
            Assert.Equal(new[] { b[0].BackupId, b[2].BackupId }, repo.List().Select(x => x.BackupId));
            Assert.Equal(SnapshotErrorCode.CorruptMetadata, Assert.Throws<SnapshotToolsException>(() => repo.Get(b[1].BackupId)).Code);
            var link = Assert.Throws<SnapshotToolsException>(() => repo.Chain(b[2].BackupId));
            Assert.Equal(SnapshotErrorCode.MissingLink, link.Code);
            Assert.Contains("Repair", link.Message);

            BackupVerifyResult r = repo.Verify(b[1].BackupId);
            Assert.False(r.IsValid);
            Assert.Contains("damaged", r.Problems[0]);
            Assert.Single(r.Problems); // the stream itself verified
            Assert.False(repo.Verify(b[2].BackupId).IsValid); // its chain is broken
            Assert.NotEmpty(repo.VerifyCatalog());
            // The damaged entry's stream is not mistaken for a leftover.
            Assert.True(File.Exists(Path.Combine(kit.RepositoryPath, b[1].FileName)));

            // Saving the catalog again keeps the damage on record.
            RepositoryTestKit.Mutate(source, new Random(4));
            source.CreateSnapshot("s4");
            repo.Export(source, null, "s4");
        }
        using (var repo = BackupRepository.Open(kit.RepositoryPath))
        {
            Assert.Single(repo.CatalogProblems);
            Assert.True(File.Exists(Path.Combine(kit.RepositoryPath, b[1].FileName)));

            IReadOnlyList<string> report = repo.Repair();
            Assert.Contains(report, line => line.Contains("Re-catalogued"));
            Assert.Empty(repo.CatalogProblems);
            Assert.Empty(repo.VerifyCatalog());
            BackupInfo rebuilt = repo.Get(b[1].BackupId);
            Assert.Equal(b[1].BaseBackupId, rebuilt.BaseBackupId);
            Assert.Equal(b[1].ContentSha256, rebuilt.ContentSha256);
            Assert.Equal("db01", rebuilt.VolumeName);
            Assert.Equal(3, repo.Chain(b[2].BackupId).Count);
            repo.RestoreToImage(b[2].BackupId, kit.PathFor("s3.img"));
            Assert.Equal(RepositoryTestKit.ReadSnapshot(source, "s3"), File.ReadAllBytes(kit.PathFor("s3.img")));
        }
    }

    [Fact]
    public void AFlippedByteInTheCatalogHeaderIsReportedAndRepaired()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using (var repo = BackupRepository.Open(kit.RepositoryPath, create: true))
        {
            RepositoryTestKit.BackUpHistory(repo, source, 2);
        }
        RepositoryTestKit.FlipByte(Path.Combine(kit.RepositoryPath, "catalog"), 20);
        using var reopened = BackupRepository.Open(kit.RepositoryPath);
        Assert.Contains(reopened.CatalogProblems, p => p.Contains("header"));
        Assert.Equal(2, reopened.List().Count); // entries stand on their own checksums
        reopened.Repair();
        Assert.Empty(reopened.CatalogProblems);
        Assert.Equal(2, reopened.List().Count);
    }
}
