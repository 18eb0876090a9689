using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Each error code for the failure it names, with a stable error id; and the failure changes nothing.</summary>
public class ErrorTests
{
    private static Volume NewVolume(MemoryStorage? storage = null, long chunks = 8) =>
        Volume.Create(storage ?? new MemoryStorage(), new VolumeCreateOptions { Size = chunks * C, ChunkSize = C });

    [Fact]
    public void OutOfRange_ReadWriteDiscardZeroesBeyondTheVolumeOrNegative()
    {
        using Volume v = NewVolume();
        long size = v.Size;
        v.Write(0, Label("keep"));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Read(-1, new byte[1]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Read(size - 10, new byte[11]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Read(size + 1, Array.Empty<byte>()));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Write(size - 1, new byte[2]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Write(-4096, new byte[4096]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Write(long.MaxValue - 1, new byte[4]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Discard(size, 1));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Discard(0, -1));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Discard(-1, 2));
        Throws(SnapshotErrorCode.OutOfRange, () => v.Discard(1, long.MaxValue));
        Throws(SnapshotErrorCode.OutOfRange, () => v.WriteZeroes(size - C, C + 1));
        Throws(SnapshotErrorCode.OutOfRange, () => v.WriteZeroes(0, -C));
        // The edges themselves are fine.
        v.Read(size, Array.Empty<byte>());
        v.Read(size - 1, new byte[1]);
        v.Discard(size, 0);
        // Nothing was changed by the refused requests.
        Assert.Equal("keep 0 0 0 0 0 0 0", Image(v, null));
    }

    [Fact]
    public void OutOfRange_SnapshotReadsUseTheSnapshotsOwnSize()
    {
        using Volume v = NewVolume(chunks: 2);
        v.CreateSnapshot("small");
        v.Resize(4 * C);
        v.Read(3 * C, new byte[C]);
        Throws(SnapshotErrorCode.OutOfRange, () => v.ReadSnapshot("small", 2 * C, new byte[1]));
        Throws(SnapshotErrorCode.OutOfRange, () => v.ReadSnapshot("small", -1, new byte[1]));
        v.ReadSnapshot("small", C, new byte[C]);
    }

    [Fact]
    public void UnknownSnapshot_EveryOperationThatNamesOne()
    {
        using Volume v = NewVolume();
        v.CreateSnapshot("s1");
        SnapshotInfo gone = v.CreateSnapshot("gone");
        v.DeleteSnapshot("gone");
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetSnapshot("nope"));
        Assert.Null(v.TryGetSnapshot("nope"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.ReadSnapshot("nope", 0, new byte[1]));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.RenameSnapshot("nope", "x"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.DeleteSnapshot("nope"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.Rollback("nope"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetDelta("nope", null));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetDelta("s1", "nope"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetSnapshot("gone"));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetSnapshot(gone.Id.ToString()));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetDelta(gone, null));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetDelta(v.GetSnapshot("s1"), gone));
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.ReadSnapshot(gone, 0, new byte[1]));
        // A deleted base with AllowFull is a full copy that says why (seed 002 C1 "Q not retained").
        VolumeDelta full = v.GetDelta(gone, null, new DeltaOptions { AllowFull = true });
        Assert.True(full.IsFull);
        Assert.Contains("no longer exists", full.FullReason);
        // A deleted newer side is never replaced by anything.
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetDelta(v.GetSnapshot("s1"), gone, new DeltaOptions { AllowFull = true }));
        // Found by id as well as by name.
        Assert.Equal("s1", v.GetSnapshot(v.GetSnapshot("s1").Id.ToString()).Name);
    }

    [Fact]
    public void NameInUse_IsCaseInsensitiveAndIgnoresSurroundingBlanks()
    {
        using Volume v = NewVolume();
        v.CreateSnapshot("Nightly");
        v.CreateSnapshot("weekly");
        Throws(SnapshotErrorCode.NameInUse, () => v.CreateSnapshot("nightly"));
        Throws(SnapshotErrorCode.NameInUse, () => v.CreateSnapshot("NIGHTLY"));
        Throws(SnapshotErrorCode.NameInUse, () => v.CreateSnapshot("  Nightly "));
        Throws(SnapshotErrorCode.NameInUse, () => v.RenameSnapshot("weekly", "nIGHTLY"));
        Assert.Equal(2, v.Snapshots.Count);
        Assert.Equal("weekly", v.GetSnapshot("WEEKLY").Name);
        // Renaming a snapshot to itself in another case is not a clash.
        Assert.Equal("WEEKLY", v.RenameSnapshot("weekly", "WEEKLY").Name);
        // The freed name can be reused.
        v.RenameSnapshot("Nightly", "nightly-old");
        v.CreateSnapshot("nightly");
        Assert.Equal(3, v.Snapshots.Count);
    }

    [Fact]
    public void VolumeInUse_SecondHandleOnMemoryStorage()
    {
        var storage = new MemoryStorage();
        Volume first = NewVolume(storage);
        Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Open(storage));
        Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Create(storage, new VolumeCreateOptions { Size = C, ChunkSize = C, Recreate = true }));
        // The refused opener did not disturb the first handle.
        first.Write(0, Label("first"));
        first.Dispose();
        using Volume second = Volume.Open(storage);
        Assert.Equal("first", NameOf(ReadAll(second, null).AsSpan(0, C)));
    }

    [Fact]
    public void VolumeInUse_SecondHandleOnAFolder()
    {
        using var folder = new TempFolder();
        string dir = folder.Sub("vol");
        using (Volume first = Volume.Create(dir, new VolumeCreateOptions { Size = 4 * C, ChunkSize = C }))
        {
            first.Write(0, Label("first"));
            first.CreateSnapshot("s1");
            SnapshotToolsException ex = Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Open(dir));
            Assert.Contains("in use", ex.Message);
            Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Open(new FileSystemStorage(dir, create: false)));
            Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Create(dir, new VolumeCreateOptions { Size = 4 * C, ChunkSize = C, Recreate = true }));
            Throws(SnapshotErrorCode.VolumeInUse, () => Volume.Delete(dir));
            // Still fully usable.
            first.Write(C, Label("again"));
            Assert.Equal("first 0 0 0", Image(first, "s1"));
        }
        using (Volume reopened = Volume.Open(dir))
        {
            Assert.Equal("first again 0 0", Image(reopened, null));
        }
        Volume.Delete(dir);
        Assert.False(Volume.Exists(dir));
    }

    [Fact]
    public void VolumeInUse_TheLockIsVisibleToAnotherProcess()
    {
        // Another process sees the folder's writer lock: util-linux flock(1) cannot take it while the volume is open
        // (.NET's FileShare.None is an flock(LOCK_EX) on Unix), and can once it is closed.
        const string Flock = "/usr/bin/flock";
        if (!OperatingSystem.IsLinux() || !File.Exists(Flock))
        {
            return;
        }
        using var folder = new TempFolder();
        string dir = folder.Sub("vol");
        string lockFile = Path.Combine(dir, "volume.lock");
        static int TryLockElsewhere(string path)
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Flock, new[] { "--nonblock", "--exclusive", path, "true" }) { UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode;
        }
        using (Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = C, ChunkSize = C }))
        {
            Assert.True(File.Exists(lockFile));
            Assert.Equal(1, TryLockElsewhere(lockFile));
        }
        Assert.Equal(0, TryLockElsewhere(lockFile));
    }

    [Fact]
    public void InvalidSnapshotOrder()
    {
        using Volume v = NewVolume();
        SnapshotInfo s1 = v.CreateSnapshot("S1");
        SnapshotInfo s2 = v.CreateSnapshot("S2");
        SnapshotInfo s3 = v.CreateSnapshot("S3");
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta("S2", "S2"));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta("S3", "S1"));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta(s2, s2));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta(s3, s1));
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta(s3, s1, new DeltaOptions { AllowFull = true }));
        // Order survives renames (it is the sequence, not the name).
        v.RenameSnapshot("S1", "zzz");
        v.RenameSnapshot("S3", "aaa");
        Throws(SnapshotErrorCode.InvalidSnapshotOrder, () => v.GetDelta("aaa", "zzz"));
        Assert.Empty(v.GetDelta("zzz", "aaa"));
    }

    [Fact]
    public void VolumeExists()
    {
        var storage = new MemoryStorage();
        NewVolume(storage).Dispose();
        Throws(SnapshotErrorCode.VolumeExists, () => NewVolume(storage));
        using var folder = new TempFolder();
        string dir = folder.Sub("vol");
        Volume.Create(dir, new VolumeCreateOptions { Size = C, ChunkSize = C }).Dispose();
        SnapshotToolsException ex = Throws(SnapshotErrorCode.VolumeExists, () => Volume.Create(dir, new VolumeCreateOptions { Size = C, ChunkSize = C }));
        Assert.Contains(Path.GetFullPath(dir), ex.Message);
        // The refused create left the existing volume alone.
        using Volume v = Volume.Open(dir);
        Assert.Equal(C, v.Size);
    }

    [Fact]
    public void VolumeNotFound()
    {
        Throws(SnapshotErrorCode.VolumeNotFound, () => Volume.Open(new MemoryStorage()));
        using var folder = new TempFolder();
        Throws(SnapshotErrorCode.VolumeNotFound, () => Volume.Open(folder.Sub("missing")));
        Throws(SnapshotErrorCode.VolumeNotFound, () => Volume.Open(folder.Path));
        Throws(SnapshotErrorCode.VolumeNotFound, () => Volume.Delete(folder.Sub("missing")));
        Assert.False(Directory.Exists(folder.Sub("missing")), "opening a missing volume must not create its folder");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(512)]
    [InlineData(2048)]
    [InlineData(3 * 4096)]
    [InlineData(4096 + 1)]
    [InlineData(2 * 1024 * 1024)]
    [InlineData(-4096)]
    public void InvalidArgument_BadChunkSize(int chunkSize)
    {
        var storage = new MemoryStorage();
        SnapshotToolsException ex = Throws(SnapshotErrorCode.InvalidArgument, () => Volume.Create(storage, new VolumeCreateOptions { Size = 1 << 20, ChunkSize = chunkSize }));
        Assert.Contains("chunk size", ex.Message);
        Assert.Empty(storage.List());
        // The lock was released: a valid create works on the same storage.
        Volume.Create(storage, new VolumeCreateOptions { Size = 1 << 20, ChunkSize = C }).Dispose();
    }

    [Fact]
    public void InvalidArgument_SizesAndNames()
    {
        Throws(SnapshotErrorCode.InvalidArgument, () => Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 0, ChunkSize = C }));
        Throws(SnapshotErrorCode.InvalidArgument, () => Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = -1, ChunkSize = C }));
        using Volume v = NewVolume();
        Throws(SnapshotErrorCode.InvalidArgument, () => v.CreateSnapshot(""));
        Throws(SnapshotErrorCode.InvalidArgument, () => v.CreateSnapshot("   "));
        Throws(SnapshotErrorCode.InvalidArgument, () => v.CreateSnapshot(new string('n', 256)));
        v.CreateSnapshot("ok");
        Throws(SnapshotErrorCode.InvalidArgument, () => v.RenameSnapshot("ok", " "));
        Throws(SnapshotErrorCode.InvalidArgument, () => v.Resize(0));
        Throws(SnapshotErrorCode.InvalidArgument, () => v.Resize(-C));
        Throws(SnapshotErrorCode.InvalidArgument, () => v.SetProtectedRanges(new[] { new ByteRange(-1, 10) }));
        Assert.Equal("ok", Assert.Single(v.Snapshots).Name);
        Assert.Equal(8 * C, v.Size);
    }

    [Fact]
    public void VolumeClosed()
    {
        Volume v = NewVolume();
        v.CreateSnapshot("s1");
        v.Dispose();
        v.Dispose();
        Throws(SnapshotErrorCode.VolumeClosed, () => v.Read(0, new byte[1]));
        Throws(SnapshotErrorCode.VolumeClosed, () => v.Write(0, new byte[1]));
        Throws(SnapshotErrorCode.VolumeClosed, () => v.CreateSnapshot("s2"));
        Throws(SnapshotErrorCode.VolumeClosed, () => v.GetDelta("s1", null));
        Throws(SnapshotErrorCode.VolumeClosed, () => v.Flush());
    }

    /// <summary>
    /// A volume of 8 chunks, all written; "old" (with 4 preserved chunks) and then "new"; chunk 0 already preserved for
    /// "new". The storage is then capped at what it uses, so the next copy-on-write cannot get its space.
    /// </summary>
    private static (MemoryStorage Storage, Volume Volume, byte[] Old, byte[] New, byte[] Live) FullDisk()
    {
        var storage = new MemoryStorage();
        Volume v = NewVolume(storage);
        for (int i = 0; i < 8; i++)
        {
            v.Write(i * C, Label("v" + i));
        }
        v.CreateSnapshot("old");
        v.Write(4 * C, new byte[4 * C].Select((_, i) => (byte)(i | 1)).ToArray());
        v.CreateSnapshot("new");
        v.Write(0, Label("w0"));
        v.Flush();
        storage.CapacityBytes = storage.UsedBytes;
        return (storage, v, ReadAll(v, "old"), ReadAll(v, "new"), ReadAll(v, null));
    }

    [Fact]
    public void DiskFull_DuringCopyOnWrite_FailsTheWriteAndLosesNothing_RaisingCapacityLetsItSucceed()
    {
        (MemoryStorage storage, Volume v, byte[] oldImage, byte[] newImage, byte[] live) = FullDisk();
        using (v)
        {
            SnapshotToolsException ex = Throws(SnapshotErrorCode.DiskFull, () => v.Write(1 * C, Label("w1")));
            Assert.IsAssignableFrom<IOException>(ex.InnerException);
            // A multi-chunk write (one batch) fails as a whole, too.
            Throws(SnapshotErrorCode.DiskFull, () => v.Write(2 * C, Label("w2").Concat(Label("w3")).ToArray()));
            // Discarding a chunk in use also needs its before-image preserved.
            Throws(SnapshotErrorCode.DiskFull, () => v.Discard(5 * C, C));
            Assert.Equal(oldImage, ReadAll(v, "old"));
            Assert.Equal(newImage, ReadAll(v, "new"));
            Assert.Equal(live, ReadAll(v, null));
            // Writes that need no copy-on-write still work: chunk 0 is already preserved for "new".
            v.Write(0, Label("w0b"));
            live = ReadAll(v, null);

            storage.CapacityBytes = long.MaxValue;
            v.Write(1 * C, Label("w1"));
            v.Write(2 * C, Label("w2").Concat(Label("w3")).ToArray());
            v.Discard(5 * C, C);
            Assert.Equal("w0b w1 w2 w3 ? 0 ? ?", Image(v, null));
            Assert.Equal(oldImage, ReadAll(v, "old"));
            Assert.Equal(newImage, ReadAll(v, "new"));
            byte[] expectedLive = (byte[])live.Clone();
            Label("w1").CopyTo(expectedLive, 1 * C);
            Label("w2").CopyTo(expectedLive, 2 * C);
            Label("w3").CopyTo(expectedLive, 3 * C);
            Array.Clear(expectedLive, 5 * C, C);
            Assert.Equal(expectedLive, ReadAll(v, null));
            Assert.Equal("0:w0b 1:w1 2:w2 3:w3 5:unmapped", DescribeDelta(v.GetDelta("new", null)));
        }
        // Reopened from the files: the failed attempts left nothing behind that changes what anything reads.
        using Volume reopened = Volume.Open(storage);
        Assert.Equal(oldImage, ReadAll(reopened, "old"));
        Assert.Equal(newImage, ReadAll(reopened, "new"));
        Assert.Equal("0:w0b 1:w1 2:w2 3:w3 5:unmapped", DescribeDelta(reopened.GetDelta("new", null)));
    }

    [Fact]
    public void DiskFull_HalfwayThroughABatch_TheChunksAlreadyPreservedDoNotChangeAnyRead()
    {
        (MemoryStorage storage, Volume v, byte[] oldImage, byte[] newImage, byte[] live) = FullDisk();
        using (v)
        {
            // "new"'s data file ends after chunk 0's slot. Room for the slots of chunks 2 and 3 (the file grows to
            // the end of chunk 3's slot; memory storage counts a file's length, sparse or not) but not for their
            // records: the batch's data and CRC entries reach the store, its index write fails, and the write as a
            // whole fails before it touches the live volume. Nothing refers to the orphaned slots.
            storage.CapacityBytes = storage.UsedBytes + (DataOffset(4) - DataOffset(1));
            Throws(SnapshotErrorCode.DiskFull, () => v.Write(2 * C, Label("w2").Concat(Label("w3")).ToArray()));
            Assert.Equal("0:v0", Store(storage, 2));
            Assert.Equal("v3", NameOf(storage.ReadAllBytes(SnapshotTools.Engine.Snapshots.PreservationLog.DataName(2)).AsSpan((int)DataOffset(3), C)));
            Assert.Equal(live, ReadAll(v, null));
            Assert.Equal(newImage, ReadAll(v, "new"));
            Assert.Equal(oldImage, ReadAll(v, "old"));
            Assert.Equal("0:w0", DescribeDelta(v.GetDelta("new", null)));
            v.Flush();
        }
        storage.CapacityBytes = long.MaxValue;
        using (Volume reopened = Volume.Open(storage))
        {
            Assert.Equal(live, ReadAll(reopened, null));
            Assert.Equal(newImage, ReadAll(reopened, "new"));
            Assert.Equal(oldImage, ReadAll(reopened, "old"));
            reopened.Write(2 * C, Label("w2").Concat(Label("w3")).ToArray());
            Assert.Equal(newImage, ReadAll(reopened, "new"));
            Assert.Equal(oldImage, ReadAll(reopened, "old"));
            Assert.Equal("0:w0 2:w2 3:w3", DescribeDelta(reopened.GetDelta("new", null)));
        }
        using (Volume again = Volume.Open(storage))
        {
            Assert.Equal(newImage, ReadAll(again, "new"));
            Assert.Equal("0:w0 2:w2 3:w3", DescribeDelta(again.GetDelta("new", null)));
        }
    }

    private const int PreservationLogRecordLength = SnapshotTools.Engine.Snapshots.PreservationLog.RecordLength;

    [Fact]
    public void StoreSyncFailsInTheBackgroundDrain_TheNextWriteReportsIt_NothingHeldIsLost_AndItRecovers()
    {
        // A window of 4 chunks: every 2 copied chunks go to a background drain, which syncs the store (failing here,
        // as fsync can with ENOSPC under delayed allocation) before it may write the held live chunks.
        var memory = new MemoryStorage();
        var fault = new FaultInjectingStorage(memory);
        const int chunks = 24;
        Volume v = Volume.Create(fault, new VolumeCreateOptions { Size = chunks * C, ChunkSize = C });
        v.WriteBackLimit = 4 * C;
        for (int i = 0; i < chunks; i++)
        {
            v.Write((long)i * C, Label($"a{i}"));
        }
        v.CreateSnapshot("s");
        byte[] before = ReadAll(v, "s");
        bool failing = true;
        int failedSyncs = 0;
        fault.FailFlush = name =>
        {
            if (failing && name.EndsWith(".dat", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref failedSyncs);
                throw new IOException("No space left on device", 28);
            }
        };
        var acknowledged = new List<int>();
        SnapshotToolsException? reported = null;
        for (int i = 0; i < chunks && reported == null; i++)
        {
            try
            {
                v.Write((long)i * C, Label($"b{i}"));
                acknowledged.Add(i);
            }
            catch (SnapshotToolsException ex)
            {
                reported = ex;
            }
        }
        Assert.True(failedSyncs > 0, "the store sync was attempted and failed");
        Assert.NotNull(reported);
        Assert.Equal(SnapshotErrorCode.DiskFull, reported!.Code);
        // Nothing held was written to the live file ahead of its before-image, and nothing was lost: the snapshot
        // reads as before, and the live volume reads every acknowledged write.
        Assert.Equal(before, ReadAll(v, "s"));
        foreach (int i in acknowledged)
        {
            Assert.Equal(Label($"b{i}"), Read(v, (long)i * C, C));
        }
        Throws(SnapshotErrorCode.DiskFull, v.Flush);

        failing = false;
        v.Flush();
        Assert.Equal(before, ReadAll(v, "s"));
        v.Dispose();
        using Volume reopened = Volume.Open(memory);
        Assert.Equal(before, ReadAll(reopened, "s"));
        foreach (int i in acknowledged)
        {
            Assert.Equal(Label($"b{i}"), Read(reopened, (long)i * C, C));
        }
    }

    private static byte[] Read(Volume v, long offset, int length)
    {
        byte[] b = new byte[length];
        v.Read(offset, b);
        return b;
    }

    [Fact]
    public void DiskFull_DuringCopyOnWrite_DeletingAnotherSnapshotFreesTheSpace()
    {
        (MemoryStorage storage, Volume v, byte[] _, byte[] newImage, byte[] live) = FullDisk();
        using (v)
        {
            Throws(SnapshotErrorCode.DiskFull, () => v.Write(1 * C, Label("w1")));
            Assert.Equal(live, ReadAll(v, null));
            // "old" is the oldest: deleting it needs no merge and frees its store.
            v.DeleteSnapshot("old");
            Assert.True(storage.UsedBytes + C <= storage.CapacityBytes, "deleting the snapshot freed space");
            v.Write(1 * C, Label("w1"));
            Assert.Equal(newImage, ReadAll(v, "new"));
            Assert.Equal("1:w1", DescribeDelta(v.GetDelta("new", null)).Split(' ').Single(s => s.StartsWith("1:", StringComparison.Ordinal)));
        }
        using Volume reopened = Volume.Open(storage);
        Assert.Equal(newImage, ReadAll(reopened, "new"));
    }

    [Fact]
    public void DiskFull_DeletingAMiddleSnapshotThatMustMergeFailsWithoutDeletingAnything()
    {
        var storage = new MemoryStorage();
        Dictionary<string, byte[]> images = new();
        using (Volume v = NewVolume(storage))
        {
            for (int i = 0; i < 8; i++)
            {
                v.Write(i * C, Label("v" + i));
            }
            v.CreateSnapshot("s1");
            images["s1"] = ReadAll(v, null);
            v.Write(0, Label("a"));
            v.CreateSnapshot("s2");
            images["s2"] = ReadAll(v, null);
            v.Write(C, new byte[3 * C].Select((_, i) => (byte)(i | 1)).ToArray()); // s1 reads chunks 1-3 through s2's store
            v.CreateSnapshot("s3");
            images["s3"] = ReadAll(v, null);
            v.Flush();
            storage.CapacityBytes = storage.UsedBytes;
            Throws(SnapshotErrorCode.DiskFull, () => v.DeleteSnapshot("s2"));
            Assert.Equal(new[] { "s1", "s2", "s3" }, v.Snapshots.Select(s => s.Name).ToArray());
            foreach ((string name, byte[] image) in images)
            {
                Assert.Equal(image, ReadAll(v, name));
            }
            storage.CapacityBytes = long.MaxValue;
            v.DeleteSnapshot("s2");
            Assert.Equal(images["s1"], ReadAll(v, "s1"));
            Assert.Equal(images["s3"], ReadAll(v, "s3"));
        }
        using Volume reopened = Volume.Open(storage);
        Assert.Equal(images["s1"], ReadAll(reopened, "s1"));
        Assert.Equal(images["s3"], ReadAll(reopened, "s3"));
    }

    [Fact]
    public void DiskFull_DuringRollback_CompletesOnceSpaceIsFreed_ByRetryOrByReopening()
    {
        foreach (bool reopen in new[] { false, true })
        {
            (MemoryStorage storage, Volume v, byte[] oldImage, byte[] newImage, byte[] live) = FullDisk();
            // Rolling back to "old" rewrites chunks 0 and 4-7; each rewrite is a copy-on-write into "new"'s store
            // (chunk 0 excepted: it is preserved already), one chunk at a time. Room for chunk 4 (its slot and its
            // record) only: the rollback stops half way.
            storage.CapacityBytes = storage.UsedBytes + (DataOffset(5) - DataOffset(1)) + PreservationLogRecordLength;
            Throws(SnapshotErrorCode.DiskFull, () => v.Rollback("old"));
            Assert.Equal(new[] { 0L, 4L }, Records(storage, 2).Select(r => r.Chunk).ToArray());
            Assert.Equal(oldImage, ReadAll(v, "old"));
            Assert.Equal(newImage, ReadAll(v, "new"));
            storage.CapacityBytes = long.MaxValue;
            if (reopen)
            {
                v.Dispose();
                v = Volume.Open(storage);
                Assert.NotNull(v.Recovery.RollbackOutcome);
                Assert.Contains("completed", v.Recovery.RollbackOutcome);
            }
            else
            {
                v.Rollback("old");
            }
            using (v)
            {
                Assert.Equal(oldImage, ReadAll(v, null));
                Assert.Equal(oldImage, ReadAll(v, "old"));
                Assert.Equal(newImage, ReadAll(v, "new"));
                Assert.NotEqual(live, ReadAll(v, null));
            }
            using Volume again = Volume.Open(storage);
            Assert.Null(again.Recovery.RollbackOutcome);
            Assert.Equal(oldImage, ReadAll(again, null));
            Assert.Equal(newImage, ReadAll(again, "new"));
        }
    }

    [Fact]
    public void DiskFull_WhenShrinking_NothingChanges()
    {
        (MemoryStorage storage, Volume v, byte[] oldImage, byte[] newImage, byte[] live) = FullDisk();
        using (v)
        {
            // Shrinking first preserves the chunks past the new end for "new": no room.
            Throws(SnapshotErrorCode.DiskFull, () => v.Resize(2 * C));
            Assert.Equal(8 * C, v.Size);
            Assert.Equal(live, ReadAll(v, null));
            Assert.Equal(newImage, ReadAll(v, "new"));
            storage.CapacityBytes = long.MaxValue;
            v.Resize(2 * C);
            Assert.Equal(live.AsSpan(0, 2 * C).ToArray(), ReadAll(v, null));
            Assert.Equal(newImage, ReadAll(v, "new"));
            Assert.Equal(oldImage, ReadAll(v, "old"));
        }
    }

    [Fact]
    public void DiskFull_WhenTakingASnapshot()
    {
        var storage = new MemoryStorage();
        using Volume v = NewVolume(storage);
        v.Write(0, Label("a"));
        v.Flush();
        storage.CapacityBytes = storage.UsedBytes;
        Throws(SnapshotErrorCode.DiskFull, () => v.CreateSnapshot("s1"));
        Assert.Empty(v.Snapshots);
        Throws(SnapshotErrorCode.UnknownSnapshot, () => v.GetSnapshot("s1"));
        storage.CapacityBytes = long.MaxValue;
        v.CreateSnapshot("s1");
        v.Write(0, Label("b"));
        Assert.Equal("a 0 0 0 0 0 0 0", Image(v, "s1"));
    }

    [Fact]
    public void RawImage_ImportExportRoundTripIsSparse()
    {
        using var folder = new TempFolder();
        string source = folder.Sub("source.img");
        const int Chunks = 64;
        var expected = new byte[Chunks * C + 1000];
        var dataChunks = new[] { 0, 1, 7, 30, 31, 63 };
        using (var f = new FileStream(source, FileMode.CreateNew, FileAccess.Write))
        {
            f.SetLength(expected.Length);
            foreach (int c in dataChunks)
            {
                byte[] block = Label("img" + c);
                block.CopyTo(expected, c * C);
                f.Position = c * C;
                f.Write(block);
            }
            // The partial last chunk holds data too.
            byte[] tail = Label("tail", 1000);
            tail.CopyTo(expected, Chunks * C);
            f.Position = Chunks * C;
            f.Write(tail);
        }

        string volumeDir = folder.Sub("vol");
        using (Volume v = RawImage.Import(source, volumeDir, new VolumeCreateOptions { ChunkSize = C }))
        {
            Assert.Equal(expected.Length, v.Size);
            Assert.Equal(expected, ReadAll(v, null));
            // Zero chunks stayed unmapped.
            string inUse = InUse(v, null);
            Assert.Equal(dataChunks.Length + 1, inUse.Count(k => k == 'D'));
            Assert.All(dataChunks, c => Assert.Equal('D', inUse[c]));
            Assert.Equal('U', inUse[2]);

            v.CreateSnapshot("s1");
            v.Write(2 * C, Label("later"));
            string exported = folder.Sub("live.img");
            string exportedSnap = folder.Sub("s1.img");
            Assert.Equal(expected.Length, RawImage.Export(v, null, exported));
            Assert.Equal(expected.Length, RawImage.Export(v, "s1", exportedSnap));
            Assert.Equal(expected, File.ReadAllBytes(exportedSnap));
            byte[] liveExpected = (byte[])expected.Clone();
            Label("later").CopyTo(liveExpected, 2 * C);
            Assert.Equal(liveExpected, File.ReadAllBytes(exported));
            Assert.False(File.Exists(exported + ".partial"));

            // Sparse where the volume is not in use: chunks 8-29 are a hole in the exported file, if the file system
            // reports holes at all (checked on a reference sparse file first).
            bool? refHole = IsHole(source, 8 * C, 22 * C);
            if (refHole == true)
            {
                Assert.True(IsHole(exportedSnap, 8 * C, 22 * C), "chunks 8-29 of the exported snapshot are allocated");
                Assert.True(IsHole(exported, 32 * C, 31 * C), "chunks 32-62 of the exported volume are allocated");
                Assert.False(IsHole(exported, 2 * C, C), "chunk 2 holds data");
            }

            // Round trip: the export imports back to the same bytes.
            using Volume again = RawImage.Import(exportedSnap, folder.Sub("vol2"), new VolumeCreateOptions { ChunkSize = C });
            Assert.Equal(expected, ReadAll(again, null));
            Assert.Equal(InUse(v, "s1"), InUse(again, null));
        }
        Throws(SnapshotErrorCode.VolumeExists, () => RawImage.Import(source, volumeDir, new VolumeCreateOptions { ChunkSize = C }));
        using (Volume existing = Volume.Open(volumeDir))
        {
            Assert.Equal(expected, ReadAll(existing, "s1"));
        }
        string empty = folder.Sub("empty.img");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Throws(SnapshotErrorCode.InvalidArgument, () => RawImage.Import(empty, folder.Sub("vol3")));
        Assert.False(Volume.Exists(folder.Sub("vol3")));
    }

    private const int SeekData = 3;
    private const int SeekHole = 4;

    [DllImport("libc", SetLastError = true, EntryPoint = "lseek")]
    private static extern long LSeek(int fd, long offset, int whence);

    /// <summary>
    /// Whether [offset, offset + length) of a file holds no allocated data (SEEK_DATA), or null when this platform
    /// cannot tell (not Linux, or the file system does not report holes).
    /// </summary>
    private static bool? IsHole(string path, long offset, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        int fd = (int)handle.DangerousGetHandle();
        long fileLength = RandomAccess.GetLength(handle);
        long nextData;
        try
        {
            nextData = LSeek(fd, offset, SeekData);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        if (nextData < 0)
        {
            // ENXIO: no data at or after offset.
            return Marshal.GetLastPInvokeError() == 6 ? true : null;
        }
        long firstHole = LSeek(fd, 0, SeekHole);
        if (firstHole >= fileLength)
        {
            return null; // The file system reports the whole file as data: it cannot tell.
        }
        return nextData >= offset + length;
    }
}
