using System.Buffers.Binary;
using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;
using static SnapshotTools.Engine.Tests.SeedKit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// The chunk-addressed preservation store (format 2, docs/store-format.md): where a chunk's data and CRC entry land
/// in <c>snap-SEQ.dat</c>, that copy-on-write of a run of chunks is one data write, one CRC-entry write and one index
/// write (split only where a group of 1024 chunks ends), and the recovery of a crash that lost a CRC entry.
/// </summary>
public class PreservationStoreLayoutTests
{
    private static readonly string Idx1 = PreservationLog.IndexName(1);
    private static readonly string Dat1 = PreservationLog.DataName(1);

    /// <summary>A volume of 2100 chunks (three groups), every chunk written with its label "vN", and snapshot S1.</summary>
    private static (FaultInjectingStorage Storage, Volume Volume, List<(string File, long Offset, int Length)> Writes) Prepared(int chunks = 2100)
    {
        var storage = new FaultInjectingStorage(new MemoryStorage());
        Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = chunks * (long)C, ChunkSize = C });
        var all = new byte[chunks * C];
        for (int i = 0; i < chunks; i++)
        {
            Label("v" + i).CopyTo(all.AsSpan(i * C));
        }
        v.Write(0, all);
        v.CreateSnapshot("S1");
        var writes = new List<(string, long, int)>();
        storage.FailWrite = (file, offset, length) =>
        {
            lock (writes)
            {
                writes.Add((file, offset, length));
            }
        };
        return (storage, v, writes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CopyOnWriteOfARunIsOneDataWriteOneCrcWriteAndOneRecordWrite(bool writeBack)
    {
        (FaultInjectingStorage storage, Volume v, List<(string File, long Offset, int Length)> writes) = Prepared();
        using (v)
        {
            v.WriteBackLimit = writeBack ? Volume.DefaultWriteBackBytes : 0;
            // Chunks 100..163: one batch of 64 chunks inside group 0.
            v.Write(100L * C, new byte[64 * C]);
            Assert.Equal(new[] { (Dat1, DataOffset(100), 64 * C), (Dat1, CrcEntryOffset(100), 64 * 4) }, writes.Where(w => w.File == Dat1).ToArray());
            Assert.Equal(new[] { (Idx1, (long)PreservationLog.HeaderLength, 64 * PreservationLog.RecordLength) }, writes.Where(w => w.File == Idx1).ToArray());
        }
        AssertStore(storage.Inner, Enumerable.Range(100, 64));
    }

    [Fact]
    public void ARunAcrossAGroupBoundaryIsSplitThereAndOnlyThere()
    {
        (FaultInjectingStorage storage, Volume v, List<(string File, long Offset, int Length)> writes) = Prepared();
        using (v)
        {
            // Chunks 1000..1063: one batch; group 0 ends after chunk 1023.
            v.Write(1000L * C, new byte[64 * C]);
            Assert.Equal(new[]
            {
                (Dat1, DataOffset(1000), 24 * C), (Dat1, CrcEntryOffset(1000), 24 * 4),
                (Dat1, DataOffset(1024), 40 * C), (Dat1, CrcEntryOffset(1024), 40 * 4),
            }, writes.Where(w => w.File == Dat1).ToArray());
            Assert.Single(writes, w => w.File == Idx1);
            // Group 1 starts with its CRC block: chunk 1024's entry is its first u32, its data follows the block.
            Assert.Equal(4096 + 1024L * C, CrcEntryOffset(1024));
            Assert.Equal(CrcEntryOffset(1024) + 4096, DataOffset(1024));
        }
        AssertStore(storage.Inner, Enumerable.Range(1000, 64));
        using Volume reopened = Volume.Open(storage.Inner);
        var block = new byte[C];
        foreach (int c in new[] { 1000, 1023, 1024, 1063 })
        {
            reopened.ReadSnapshot("S1", c * (long)C, block);
            Assert.Equal("v" + c, NameOf(block));
        }
    }

    [Fact]
    public void RunsBrokenByPreservedOrUnmappedChunksAreSeparateWritesInOneRecordWrite()
    {
        (FaultInjectingStorage storage, Volume v, List<(string File, long Offset, int Length)> writes) = Prepared();
        string idx2 = PreservationLog.IndexName(2);
        string dat2 = PreservationLog.DataName(2);
        using (v)
        {
            v.Discard(8L * C, C);            // chunk 8 unmapped before S2
            v.CreateSnapshot("S2");
            v.Write(5L * C, new byte[C]);    // chunk 5 preserved in S2 already
            writes.Clear();
            v.Write(0, new byte[12 * C]);    // 0-4 data, 5 skipped, 6-7 data, 8 unmapped (a record, no data), 9-11 data
            Assert.Equal(new[]
            {
                (dat2, DataOffset(0), 5 * C), (dat2, CrcEntryOffset(0), 5 * 4),
                (dat2, DataOffset(6), 2 * C), (dat2, CrcEntryOffset(6), 2 * 4),
                (dat2, DataOffset(9), 3 * C), (dat2, CrcEntryOffset(9), 3 * 4),
            }, writes.Where(w => w.File == dat2).ToArray());
            Assert.Equal(new[] { (idx2, PreservationLog.HeaderLength + 1L * PreservationLog.RecordLength, 11 * PreservationLog.RecordLength) },
                writes.Where(w => w.File == idx2).ToArray());
        }
        Assert.Equal("5:v5 0:v0 1:v1 2:v2 3:v3 4:v4 6:v6 7:v7 8:unmapped 9:v9 10:v10 11:v11", Store(storage.Inner, 2));
    }

    [Fact]
    public void DeletingASnapshotMovesItsRecordsInRuns()
    {
        (FaultInjectingStorage storage, Volume v, List<(string File, long Offset, int Length)> writes) = Prepared(64);
        using (v)
        {
            v.CreateSnapshot("S2");
            v.Write(10L * C, new byte[20 * C]); // S2 holds chunks 10..29; S1 reads them through S2
            v.Flush();
            writes.Clear();
            v.DeleteSnapshot("S2");
            Assert.Equal(new[] { (Dat1, DataOffset(10), 20 * C), (Dat1, CrcEntryOffset(10), 20 * 4) }, writes.Where(w => w.File == Dat1).ToArray());
            Assert.Single(writes, w => w.File == Idx1);
        }
        AssertStore(storage.Inner, Enumerable.Range(10, 20));
    }

    [Fact]
    public void ACrashThatLostACrcEntryVoidsThatRecordOnOpen()
    {
        var storage = new MemoryStorage();
        var v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        for (int i = 0; i < 8; i++)
        {
            v.Write(i * C, Label("v" + i));
        }
        v.CreateSnapshot("S1");
        // Copy-on-write of chunks 1 and 2, not yet synced (the live writes are held in the write-back window).
        v.Write(1 * C, Label("n1").Concat(Label("n2")).ToArray());
        // Power lost now; of the unsynced writes, everything reached the disk except chunk 2's CRC entry (a hole
        // reads as zero). The records and both data slots are intact.
        var disk = new MemoryStorage();
        foreach (string file in storage.List())
        {
            disk.WriteAllBytes(file, storage.ReadAllBytes(file));
        }
        byte[] dat = disk.ReadAllBytes(Dat1);
        Assert.Equal(Crc32C.Compute(Label("v2")), BinaryPrimitives.ReadUInt32LittleEndian(dat.AsSpan((int)CrcEntryOffset(2))));
        dat.AsSpan((int)CrcEntryOffset(2), 4).Clear();
        disk.WriteAllBytes(Dat1, dat);
        v.Dispose();

        using (Volume reopened = Volume.Open(disk))
        {
            Assert.Contains(reopened.Recovery.Messages, m => m.Contains("Discarded 1 preservation record", StringComparison.Ordinal));
            Assert.Equal("1:v1 0:void", Store(disk, 1)); // a void record names no chunk (0)
            // The voided record guarded a live write that never reached the file: S1 and live both read v2 there.
            Assert.Equal("v0 v1 v2 v3 v4 v5 v6 v7", Image(reopened, "S1"));
            Assert.Equal("v0 v1 v2 v3 v4 v5 v6 v7", Image(reopened, null));
            // Chunk 2 is preserved again by the next write to it, in the same slot.
            reopened.Write(2 * C, Label("m2"));
            Assert.Equal("v0 v1 v2 v3 v4 v5 v6 v7", Image(reopened, "S1"));
            Assert.Equal("v0 v1 m2 v3 v4 v5 v6 v7", Image(reopened, null));
        }
        using (Volume again = Volume.Open(disk))
        {
            Assert.Equal("1:v1 0:void 2:v2", Store(disk, 1));
            Assert.Equal("v0 v1 v2 v3 v4 v5 v6 v7", Image(again, "S1"));
        }
    }

    /// <summary>Every chunk in <paramref name="chunks"/> is a data record of S1 whose slot holds "vN" and whose CRC
    /// entry is that data's CRC-32C, read straight from the file bytes.</summary>
    private static void AssertStore(MemoryStorage storage, IEnumerable<int> chunks)
    {
        byte[] dat = storage.ReadAllBytes(Dat1);
        var records = Records(storage, 1).Where(r => r.Kind == PreservedKind.Data).ToDictionary(r => r.Chunk);
        foreach (int c in chunks)
        {
            ReadOnlySpan<byte> slot = dat.AsSpan((int)DataOffset(c), C);
            Assert.Equal("v" + c, NameOf(slot));
            uint crc = Crc32C.Compute(slot);
            Assert.Equal(crc, BinaryPrimitives.ReadUInt32LittleEndian(dat.AsSpan((int)CrcEntryOffset(c))));
            Assert.Equal(crc, records[c].DataCrc);
        }
    }
}
