using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Backup repository: crash leftovers, two writers, missing links, cancellation, removal.</summary>
public class RepositorySafetyTests
{
    [Fact]
    public void LeftoversOfAnInterruptedExportAreNeverListedAndAreCleanedOnOpen()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        BackupInfo full;
        string volumeFolder;
        using (var repo = BackupRepository.Open(kit.RepositoryPath, create: true))
        {
            full = RepositoryTestKit.BackUpHistory(repo, source, 1)[0];
            volumeFolder = Path.GetDirectoryName(Path.Combine(kit.RepositoryPath, full.FileName))!;
        }
        RepositoryTestKit.Mutate(source, new Random(1));
        source.CreateSnapshot("s2");

        // A crash while writing the stream: a partial file.
        string partial = Path.Combine(volumeFolder, Guid.NewGuid() + BackupRepository.StreamExtension + BackupRepository.PartialSuffix);
        using (var fs = File.Create(partial))
        {
            DeltaStreamWriter.Write(source.GetDelta("s1", "s2"), fs);
            fs.SetLength(fs.Length / 2);
        }
        // A crash after the rename, before the catalog update: a complete stream nobody lists.
        string complete = Path.Combine(volumeFolder, Guid.NewGuid() + BackupRepository.StreamExtension);
        using (var fs = File.Create(complete))
        {
            DeltaStreamWriter.Write(source.GetDelta("s1", "s2"), fs);
        }
        // A crash while writing the new catalog: the old one is intact, the new one half there.
        File.WriteAllBytes(Path.Combine(kit.RepositoryPath, "catalog.new"), new byte[100]);
        // A crash during a merge: its scratch volume.
        Directory.CreateDirectory(Path.Combine(kit.RepositoryPath, "tmp", "merge-x"));

        using (var reader = BackupRepository.OpenReadOnly(kit.RepositoryPath))
        {
            Assert.Equal(new[] { full.BackupId }, reader.List().Select(b => b.BackupId));
            Assert.True(File.Exists(partial)); // readers never clean up
        }
        using (var repo = BackupRepository.Open(kit.RepositoryPath))
        {
            Assert.Equal(new[] { full.BackupId }, repo.List().Select(b => b.BackupId));
            Assert.False(File.Exists(partial));
            Assert.False(File.Exists(complete));
            Assert.False(File.Exists(Path.Combine(kit.RepositoryPath, "catalog.new")));
            Assert.False(Directory.Exists(Path.Combine(kit.RepositoryPath, "tmp")));
            Assert.Equal(4, repo.RecoveryMessages.Count);
            Assert.Empty(repo.VerifyCatalog());
            // The repository works on as before.
            BackupInfo next = repo.Export(source, "s1", "s2");
            Assert.Equal(full.BackupId, next.BaseBackupId);
        }
    }

    [Fact]
    public void ASecondWriterIsRefusedWhileReadersShare()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var writer = BackupRepository.Open(kit.RepositoryPath, create: true);
        BackupInfo full = RepositoryTestKit.BackUpHistory(writer, source, 1)[0];

        var ex = Assert.Throws<SnapshotToolsException>(() => BackupRepository.Open(kit.RepositoryPath));
        Assert.Equal(SnapshotErrorCode.RepositoryInUse, ex.Code);
        Assert.Contains("in use", ex.Message);
        Assert.Contains(kit.RepositoryPath, ex.Message);

        using var reader1 = BackupRepository.OpenReadOnly(kit.RepositoryPath);
        using var reader2 = BackupRepository.OpenReadOnly(kit.RepositoryPath);
        Assert.Single(reader1.List());
        Assert.True(reader2.Verify(full.BackupId).IsValid);
        reader1.RestoreToImage(full.BackupId, kit.PathFor("r.img"));
        var readOnly = Assert.Throws<SnapshotToolsException>(() => reader1.Remove(full.BackupId));
        Assert.Equal(SnapshotErrorCode.InvalidArgument, readOnly.Code);

        // A reader sees the writer's changes after a refresh.
        RepositoryTestKit.Mutate(source, new Random(2));
        source.CreateSnapshot("s2");
        writer.Export(source, "s1", "s2");
        Assert.Single(reader1.List());
        reader1.Refresh();
        Assert.Equal(2, reader1.List().Count);

        writer.Dispose();
        using var second = BackupRepository.Open(kit.RepositoryPath);
        Assert.Equal(2, second.List().Count);
    }

    [Fact]
    public void OpeningWhatIsNotARepositoryIsRefused()
    {
        using var kit = new RepositoryTestKit();
        var missing = Assert.Throws<SnapshotToolsException>(() => BackupRepository.Open(kit.PathFor("nothing")));
        Assert.Equal(SnapshotErrorCode.RepositoryNotFound, missing.Code);
        Assert.Throws<SnapshotToolsException>(() => BackupRepository.OpenReadOnly(kit.PathFor("nothing")));
        Directory.CreateDirectory(kit.PathFor("busy"));
        File.WriteAllText(Path.Combine(kit.PathFor("busy"), "notes.txt"), "mine");
        var busy = Assert.Throws<SnapshotToolsException>(() => BackupRepository.Open(kit.PathFor("busy"), create: true));
        Assert.Equal(SnapshotErrorCode.InvalidArgument, busy.Code);
        Assert.False(BackupRepository.Exists(kit.PathFor("busy")));
    }

    [Fact]
    public void AnIncrementalNeedsABackupOfItsBase()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        source.CreateSnapshot("s1");
        RepositoryTestKit.Mutate(source, new Random(3));
        source.CreateSnapshot("s2");
        var ex = Assert.Throws<SnapshotToolsException>(() => repo.Export(source, "s1", "s2"));
        Assert.Equal(SnapshotErrorCode.MissingLink, ex.Code);
        Assert.Contains("'s1'", ex.Message);
        Assert.Empty(repo.List());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(kit.RepositoryPath, "streams"), "*", SearchOption.AllDirectories));

        BackupInfo full = repo.Export(source, null, "s1");
        repo.Export(source, "s1", "s2");
        var duplicate = Assert.Throws<SnapshotToolsException>(() => repo.Export(source, "s1", "s2"));
        Assert.Equal(SnapshotErrorCode.DuplicateBackup, duplicate.Code);
        var live = Assert.Throws<SnapshotToolsException>(() => repo.Export(source.GetDelta("s2", null)));
        Assert.Equal(SnapshotErrorCode.InvalidArgument, live.Code);
        Assert.Equal(2, repo.List().Count);
        Assert.Equal(full.BackupId, repo.Chain(repo.List()[1].BackupId)[0].BackupId);
    }

    [Fact]
    public void ARemovedBaseIsRefusedAndDependentsGoOnlyTogether()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 4);

        var ex = Assert.Throws<SnapshotToolsException>(() => repo.Remove(b[1].BackupId));
        Assert.Equal(SnapshotErrorCode.BackupHasDependents, ex.Code);
        Assert.Equal(4, repo.List().Count);
        Assert.Equal(new[] { b[2].BackupId, b[3].BackupId }, repo.Dependents(b[1].BackupId).Select(d => d.BackupId));

        IReadOnlyList<BackupInfo> removed = repo.Remove(b[3].BackupId);
        Assert.Single(removed);
        Assert.False(File.Exists(Path.Combine(kit.RepositoryPath, b[3].FileName)));
        removed = repo.Remove(b[1].BackupId, withDependents: true);
        Assert.Equal(new[] { b[1].BackupId, b[2].BackupId }, removed.Select(r => r.BackupId));
        Assert.Equal(new[] { b[0].BackupId }, repo.List().Select(r => r.BackupId));
        Assert.Equal(SnapshotErrorCode.UnknownBackup, Assert.Throws<SnapshotToolsException>(() => repo.Get(b[2].BackupId)).Code);
        Assert.Empty(repo.VerifyCatalog());

        // s2 is no longer backed up: an incremental from it has no link.
        var link = Assert.Throws<SnapshotToolsException>(() => repo.Export(source, "s2", "s4"));
        Assert.Equal(SnapshotErrorCode.MissingLink, link.Code);
    }

    [Fact]
    public void CancellingAnExportRemovesThePartialStream()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        source.CreateSnapshot("s1");
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(_ => cts.Cancel());
        var ex = Assert.Throws<SnapshotToolsException>(() => repo.Export(source, null, "s1", RepositoryTestKit.SmallRecords(), progress, cts.Token));
        Assert.Equal(SnapshotErrorCode.Cancelled, ex.Code);
        Assert.True(progress.Reports > 0);
        Assert.Empty(repo.List());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(kit.RepositoryPath, "streams"), "*", SearchOption.AllDirectories));
        Assert.NotNull(repo.Export(source, null, "s1")); // and it can be done again
    }

    [Fact]
    public void CancellingARestoreRemovesThePartialTarget()
    {
        using var kit = new RepositoryTestKit();
        using Volume source = RepositoryTestKit.Source();
        using var repo = BackupRepository.Open(kit.RepositoryPath, create: true);
        List<BackupInfo> b = RepositoryTestKit.BackUpHistory(repo, source, 3, options: RepositoryTestKit.SmallRecords());

        using (var cts = new CancellationTokenSource())
        {
            var ex = Assert.Throws<SnapshotToolsException>(() =>
                repo.RestoreToImage(b[^1].BackupId, kit.PathFor("c.img"), progress: new SyncProgress(_ => cts.Cancel()), cancellationToken: cts.Token));
            Assert.Equal(SnapshotErrorCode.Cancelled, ex.Code);
        }
        Assert.False(File.Exists(kit.PathFor("c.img")));
        Assert.False(File.Exists(kit.PathFor("c.img.partial")));

        using (var cts = new CancellationTokenSource())
        {
            var ex = Assert.Throws<SnapshotToolsException>(() =>
                repo.RestoreToVolume(b[^1].BackupId, kit.PathFor("c-vol"), progress: new SyncProgress(_ => cts.Cancel()), cancellationToken: cts.Token));
            Assert.Equal(SnapshotErrorCode.Cancelled, ex.Code);
        }
        Assert.False(Volume.Exists(kit.PathFor("c-vol")));
        Assert.False(Directory.Exists(kit.PathFor("c-vol")));
    }
}
