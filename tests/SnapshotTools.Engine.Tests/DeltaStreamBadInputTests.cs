using System.Buffers.Binary;
using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Every bad input, record by record: a flipped byte in each part of every record (header, each record type, END),
/// truncation at every record boundary and inside every record, and identity mismatches, each with its own error
/// and an untouched target.
/// </summary>
public class DeltaStreamBadInputTests
{
    private const int C = 4096;

    private static (Volume Source, byte[] Full, byte[] Incremental) Make(DeltaStreamOptions? options = null)
    {
        var src = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 16 * C, ChunkSize = C });
        var rng = new Random(3);
        byte[] d = new byte[6 * C];
        rng.NextBytes(d);
        src.Write(0, d);
        src.CreateSnapshot("a");
        src.Write(C + 5, d.AsSpan(0, 2 * C));
        src.WriteZeroes(8 * C, C);
        src.Discard(4 * C, C);
        src.Resize(18 * C);
        src.CreateSnapshot("b");
        using var full = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta(null, "a"), full, options);
        using var inc = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta("a", "b"), inc, options);
        return (src, full.ToArray(), inc.ToArray());
    }

    /// <summary>Walks the framing: (offset, type, total length) of each record.</summary>
    private static List<(int Offset, ushort Type, int Length)> Records(byte[] stream)
    {
        var list = new List<(int, ushort, int)>();
        int pos = 8;
        while (pos < stream.Length)
        {
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(stream.AsSpan(pos));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(pos + 4));
            int total = 12 + length + 4;
            list.Add((pos, type, total));
            pos += total;
        }
        Assert.Equal(stream.Length, pos);
        return list;
    }

    private static byte[] Live(Volume v)
    {
        byte[] b = new byte[v.Size];
        v.Read(0, b);
        return b;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFlippedByteInEveryPartOfEveryRecordIsRefused(bool encrypted)
    {
        byte[]? key = encrypted ? StreamKey.Generate() : null;
        (Volume src, byte[] full, byte[] inc) = Make(new DeltaStreamOptions { Key = key, RecordDataSize = 4096 });
        using (src)
        {
            using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
            DeltaImporter.Import(dst, new MemoryStream(full), new ImportOptions { Key = key });
            byte[] before = Live(dst);
            List<(int Offset, ushort Type, int Length)> records = Records(inc);
            var types = records.Select(r => r.Type).ToHashSet();
            Assert.Superset(new HashSet<ushort> { 1, 2, 3, 4, 5, 6 }, types);
            Assert.Equal(6, types.Count); // HEADER, DATA, ZERO, UNMAP, RESIZE and END all occur
            var places = new List<int> { 0, 7 }; // the magic
            foreach ((int offset, _, int length) in records)
            {
                // type, flags, length, header CRC, first/middle/last payload byte, payload CRC
                places.AddRange(new[] { offset, offset + 2, offset + 4, offset + 8, offset + 12, offset + 12 + (length - 16) / 2, offset + length - 5, offset + length - 1 });
            }
            foreach (int at in places.Distinct())
            {
                byte[] bad = (byte[])inc.Clone();
                bad[at] ^= 0x01;
                var ex = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(bad), new ImportOptions { Key = key }));
                Assert.True(ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.UnsupportedFormat or SnapshotErrorCode.WrongKey,
                    $"byte {at}: {ex.Code}: {ex.Message}");
                Assert.Equal(before, Live(dst));
                Assert.Single(dst.Snapshots);
            }
            DeltaImporter.Import(dst, new MemoryStream(inc), new ImportOptions { Key = key });
            byte[] expected = new byte[src.GetSnapshot("b").Size];
            src.ReadSnapshot("b", 0, expected);
            Assert.Equal(expected, Live(dst));
        }
    }

    [Fact]
    public void TruncationAtEveryRecordBoundaryAndInsideEveryRecordIsRefused()
    {
        (Volume src, byte[] full, byte[] inc) = Make(new DeltaStreamOptions { RecordDataSize = 4096 });
        using (src)
        {
            using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
            DeltaImporter.Import(dst, new MemoryStream(full));
            byte[] before = Live(dst);
            var cuts = new List<int> { 0, 4 };
            foreach ((int offset, _, int length) in Records(inc))
            {
                cuts.AddRange(new[] { offset, offset + 6, offset + 12, offset + length / 2, offset + length - 1 });
            }
            foreach (int cut in cuts.Distinct())
            {
                var ex = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(inc, 0, cut)));
                Assert.True(ex.Code is SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.CorruptStream, $"cut {cut}: {ex.Code}");
                Assert.Equal(before, Live(dst));
            }
            // Data after END is refused too.
            byte[] longer = inc.Concat(new byte[] { 0 }).ToArray();
            Assert.Equal(SnapshotErrorCode.CorruptStream, Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(dst, new MemoryStream(longer))).Code);
            Assert.Single(dst.Snapshots);
        }
    }

    [Fact]
    public void AStreamFromAReCreatedVolumeIsRefusedByTheOldLineage()
    {
        var storage = new MemoryStorage();
        byte[] fullOld;
        using (Volume v = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C }))
        {
            v.Write(0, new byte[C]);
            v.CreateSnapshot("a");
            using var ms = new MemoryStream();
            DeltaStreamWriter.Write(v.GetDelta(null, "a"), ms);
            fullOld = ms.ToArray();
        }
        using Volume target = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        DeltaImporter.Import(target, new MemoryStream(fullOld));
        using Volume again = Volume.Create(storage, new VolumeCreateOptions { Size = 8 * C, ChunkSize = C, Recreate = true });
        again.CreateSnapshot("a");
        again.Write(0, new byte[] { 9 });
        again.CreateSnapshot("b");
        using var inc = new MemoryStream();
        DeltaStreamWriter.Write(again.GetDelta("a", "b"), inc);
        var ex = Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(target, new MemoryStream(inc.ToArray())));
        Assert.Equal(SnapshotErrorCode.GenerationMismatch, ex.Code);
        Assert.Contains("generation 2", ex.Message);
        // Force does not override identity.
        Assert.Equal(SnapshotErrorCode.GenerationMismatch,
            Assert.Throws<SnapshotToolsException>(() => DeltaImporter.Import(target, new MemoryStream(inc.ToArray()), new ImportOptions { Force = true })).Code);
        Assert.Single(target.Snapshots);
    }

    [Fact]
    public void ZstdRoundTripsWhereTheSystemLibraryExists()
    {
        if (!StreamCodecsProbe.ZstdAvailable)
        {
            Console.WriteLine("skipped: libzstd.so.1 is not installed");
            return;
        }
        (Volume src, byte[] full, byte[] inc) = Make(new DeltaStreamOptions { Compression = StreamCompression.Zstd, Level = 3 });
        using (src)
        {
            using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
            DeltaImporter.Import(dst, new MemoryStream(full));
            DeltaImporter.Import(dst, new MemoryStream(inc));
            byte[] expected = new byte[src.GetSnapshot("b").Size];
            src.ReadSnapshot("b", 0, expected);
            Assert.Equal(expected, Live(dst));
        }
    }

    private static class StreamCodecsProbe
    {
        public static bool ZstdAvailable => StreamCodecs.ZstdAvailable;
    }
}
