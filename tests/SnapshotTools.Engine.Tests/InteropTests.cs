using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Real clients from Debian check our images and diffs: qemu-img compare, mkfs.ext4, debugfs, e2fsck, rbd merge-diff.</summary>
public sealed class InteropTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "st-interop-" + Guid.NewGuid().ToString("N"));

    public InteropTests()
    {
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ExportedSnapshotsAndRestoredStreamsMatchWithQemuImgCompare()
    {
        if (!ExternalTools.Available("qemu-img"))
        {
            return;
        }
        var rng = new Random(11);
        using Volume src = Volume.Create(Path.Combine(_dir, "src"), new VolumeCreateOptions { Size = 16L << 20 });
        byte[] data = new byte[1 << 20];
        var expected = new byte[src.Size];
        for (int i = 0; i < 5; i++)
        {
            rng.NextBytes(data);
            long at = rng.Next(0, 15) << 20;
            src.Write(at, data);
            data.CopyTo(expected, at);
        }
        src.CreateSnapshot("s1");
        string reference = Path.Combine(_dir, "reference.raw");
        File.WriteAllBytes(reference, expected);
        string exported = Path.Combine(_dir, "s1.raw");
        RawImage.Export(src, "s1", exported);
        (int code, string output) = ExternalTools.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", reference, exported);
        Assert.True(code == 0, output);

        // A changed image differs, and qemu-img says so (the comparison can fail).
        src.Write(3 << 20, new byte[] { 1 });
        src.CreateSnapshot("s2");
        string exported2 = Path.Combine(_dir, "s2.raw");
        RawImage.Export(src, "s2", exported2);
        (code, _) = ExternalTools.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", reference, exported2);
        Assert.Equal(1, code);

        // Full + incremental through delta streams into a new volume, exported again: identical to the source's.
        using var full = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta(null, "s1"), full);
        using var inc = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta("s1", "s2"), inc);
        string standby = Path.Combine(_dir, "standby");
        DeltaImporter.ImportNew(standby, new MemoryStream(full.ToArray()));
        using Volume dst = Volume.Open(standby);
        DeltaImporter.Import(dst, new MemoryStream(inc.ToArray()));
        string restored = Path.Combine(_dir, "restored.raw");
        RawImage.Export(dst, "s2", restored);
        (code, output) = ExternalTools.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", exported2, restored);
        Assert.True(code == 0, output);
    }

    [Fact]
    public void Ext4FileSystemSurvivesSnapshotDeltaAndImportCheckedByE2fsck()
    {
        if (!ExternalTools.Available("mkfs.ext4") || !ExternalTools.Available("debugfs") || !ExternalTools.Available("e2fsck"))
        {
            return;
        }
        string image = Path.Combine(_dir, "fs.img");
        using (var f = File.Create(image))
        {
            f.SetLength(32L << 20);
        }
        (int code, string output) = ExternalTools.Run("mkfs.ext4", "-q", "-F", "-b", "4096", image);
        Assert.True(code == 0, output);
        using Volume src = RawImage.Import(image, Path.Combine(_dir, "vol"));
        src.CreateSnapshot("empty-fs");

        // A client writes a file into the file system: debugfs on a copy, then the changed blocks go to the volume.
        string payload = Path.Combine(_dir, "payload.txt");
        File.WriteAllText(payload, string.Concat(Enumerable.Repeat("SnapshotTools interop line\n", 5000)));
        string modified = Path.Combine(_dir, "fs2.img");
        File.Copy(image, modified);
        (code, output) = ExternalTools.Run("debugfs", "-w", "-R", $"write {payload} hello.txt", modified);
        Assert.True(code == 0, output);
        byte[] a = File.ReadAllBytes(image);
        byte[] b = File.ReadAllBytes(modified);
        for (int off = 0; off < b.Length; off += 4096)
        {
            if (!a.AsSpan(off, 4096).SequenceEqual(b.AsSpan(off, 4096)))
            {
                src.Write(off, b.AsSpan(off, 4096));
            }
        }
        src.CreateSnapshot("with-file");

        // Ship full + incremental to a standby, export its snapshot, and check the file system there.
        using var full = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta(null, "empty-fs"), full);
        using var inc = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta("empty-fs", "with-file"), inc);
        string standby = Path.Combine(_dir, "standby");
        DeltaImporter.ImportNew(standby, new MemoryStream(full.ToArray()));
        using Volume dst = Volume.Open(standby);
        DeltaImporter.Import(dst, new MemoryStream(inc.ToArray()));
        string check = Path.Combine(_dir, "check.img");
        RawImage.Export(dst, "with-file", check);
        (code, output) = ExternalTools.Run("e2fsck", "-f", "-n", check);
        Assert.True(code == 0, output);
        string back = Path.Combine(_dir, "back.txt");
        (code, output) = ExternalTools.Run("debugfs", "-R", $"dump hello.txt {back}", check);
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllText(payload), File.ReadAllText(back));

        // Rolling the standby back to the empty file system removes the file, and the file system is still clean.
        dst.Rollback("empty-fs");
        string rolled = Path.Combine(_dir, "rolled.img");
        RawImage.Export(dst, null, rolled);
        (code, output) = ExternalTools.Run("e2fsck", "-f", "-n", rolled);
        Assert.True(code == 0, output);
        (_, output) = ExternalTools.Run("debugfs", "-R", "ls -l /", rolled);
        Assert.DoesNotContain("hello.txt", output);
    }

    [Fact]
    public void RbdMergeDiffFromCephAcceptsOurDiffsAndItsOutputImportsExactly()
    {
        if (!ExternalTools.Available("rbd"))
        {
            return;
        }
        var rng = new Random(17);
        using Volume src = Volume.Create(Path.Combine(_dir, "src"), new VolumeCreateOptions { Size = 4L << 20, ChunkSize = 64 * 1024 });
        byte[] data = new byte[300_000];
        rng.NextBytes(data);
        src.Write(0, data);
        src.CreateSnapshot("s1");
        rng.NextBytes(data);
        src.Write(1_000_003, data.AsSpan(0, 200_000));
        src.Discard(2L << 20, 128 * 1024);
        src.CreateSnapshot("s2");
        rng.NextBytes(data);
        src.Write(100, data.AsSpan(0, 150_000));
        src.WriteZeroes(3L << 20, 64 * 1024);
        src.CreateSnapshot("s3");

        string Diff(string? from, string to)
        {
            string path = Path.Combine(_dir, $"{from ?? "none"}-{to}.rbddiff");
            using var f = File.Create(path);
            RbdDiff.Export(src.GetDelta(from, to), f);
            return path;
        }

        string full = Diff(null, "s1");
        string d12 = Diff("s1", "s2");
        string d23 = Diff("s2", "s3");
        string merged = Path.Combine(_dir, "s1-s3.rbddiff");
        (int code, string output) = ExternalTools.Run("rbd", "merge-diff", "--no-progress", d12, d23, merged);
        Assert.True(code == 0, output);

        using Volume dst = Volume.Create(Path.Combine(_dir, "dst"), new VolumeCreateOptions { Size = 64 * 1024, ChunkSize = 64 * 1024 });
        using (var f = File.OpenRead(full))
        {
            RbdDiff.Import(dst, f);
        }
        using (var f = File.OpenRead(merged))
        {
            RbdDiff.Import(dst, f);
        }
        Assert.Equal(new[] { "s1", "s3" }, dst.Snapshots.Select(s => s.Name));
        byte[] expected = new byte[src.GetSnapshot("s3").Size];
        src.ReadSnapshot("s3", 0, expected);
        byte[] actual = new byte[dst.Size];
        dst.Read(0, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void EveryPointOfABackupChainRestoresToAnImageThatQemuImgFindsIdentical()
    {
        if (!ExternalTools.Available("qemu-img"))
        {
            return;
        }
        var rng = new Random(23);
        using Volume src = Volume.Create(Path.Combine(_dir, "src"), new VolumeCreateOptions { Size = 8L << 20 });
        using var repo = SnapshotTools.Engine.Repository.BackupRepository.Open(Path.Combine(_dir, "repo"), create: true);
        var points = new List<(Guid Backup, string Snapshot)>();
        byte[] data = new byte[256 * 1024];
        for (int i = 1; i <= 5; i++)
        {
            for (int w = 0; w < 4; w++)
            {
                rng.NextBytes(data);
                src.Write(rng.Next(0, (int)src.Size - data.Length), data.AsSpan(0, rng.Next(1, data.Length)));
            }
            if (i == 3)
            {
                src.Discard(1L << 20, 1L << 20);
                src.Resize(src.Size + (1L << 20) + 4096);
            }
            string name = "n" + i;
            src.CreateSnapshot(name);
            points.Add((repo.ExportNext(src, name).BackupId, name));
        }
        foreach ((Guid backup, string snapshot) in points)
        {
            string expected = Path.Combine(_dir, snapshot + ".expected.raw");
            RawImage.Export(src, snapshot, expected);
            string restored = Path.Combine(_dir, snapshot + ".restored.raw");
            repo.RestoreToImage(backup, restored);
            (int code, string output) = ExternalTools.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", "-s", expected, restored);
            Assert.True(code == 0, $"{snapshot}: {output}");
        }
    }
}
