using System.Buffers.Binary;
using System.Text;
using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Ceph's rbd diff v1 format: export, import, and fixtures written from the specification.</summary>
public class RbdDiffTests
{
    private const int C = 4096;

    /// <summary>Builds an rbd diff v1 byte by byte from Ceph's doc/dev/rbd-diff.rst.</summary>
    private sealed class Fixture
    {
        private readonly MemoryStream _ms = new();

        public Fixture()
        {
            _ms.Write(Encoding.ASCII.GetBytes("rbd diff v1\n"));
        }

        public Fixture Name(char tag, string name)
        {
            _ms.WriteByte((byte)tag);
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(n, Encoding.UTF8.GetByteCount(name));
            _ms.Write(n);
            _ms.Write(Encoding.UTF8.GetBytes(name));
            return this;
        }

        public Fixture Size(long size)
        {
            _ms.WriteByte((byte)'s');
            Span<byte> n = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(n, size);
            _ms.Write(n);
            return this;
        }

        public Fixture Write(long offset, byte[] data)
        {
            Range('w', offset, data.Length);
            _ms.Write(data);
            return this;
        }

        public Fixture Zero(long offset, long length) => Range('z', offset, length);

        public byte[] End()
        {
            _ms.WriteByte((byte)'e');
            return _ms.ToArray();
        }

        public byte[] Bytes() => _ms.ToArray();

        private Fixture Range(char tag, long offset, long length)
        {
            _ms.WriteByte((byte)tag);
            Span<byte> n = stackalloc byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(n, offset);
            BinaryPrimitives.WriteInt64LittleEndian(n.Slice(8), length);
            _ms.Write(n);
            return this;
        }
    }

    private static byte[] Fill(int length, byte value)
    {
        byte[] b = new byte[length];
        Array.Fill(b, value);
        return b;
    }

    private static byte[] Live(Volume v)
    {
        byte[] b = new byte[v.Size];
        v.Read(0, b);
        return b;
    }

    [Fact]
    public void ExportWritesTheSpecifiedRecordsInOrder()
    {
        using Volume v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        v.Write(0, Fill(8 * C, 1));
        v.CreateSnapshot("a");
        v.Write(2 * C, Fill(C, 2));
        v.Discard(5 * C, C);
        v.CreateSnapshot("b");
        using var ms = new MemoryStream();
        RbdDiff.Export(v.GetDelta("a", "b"), ms);
        byte[] expected = new Fixture().Name('f', "a").Name('t', "b").Size(8 * C).Write(2 * C, Fill(C, 2)).Zero(5 * C, C).End();
        Assert.Equal(expected, ms.ToArray());
    }

    [Fact]
    public void FixtureFromTheSpecificationImportsFullThenIncremental()
    {
        using Volume v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        byte[] full = new Fixture().Name('t', "snap1").Size(6 * C).Write(0, Fill(2 * C, 7)).Zero(2 * C, 4 * C).End();
        RbdDiff.Import(v, new MemoryStream(full));
        Assert.Equal(6 * C, v.Size);
        byte[] expected = new byte[6 * C];
        Array.Fill(expected, (byte)7, 0, 2 * C);
        Assert.Equal(expected, Live(v));
        byte[] inc = new Fixture().Name('f', "snap1").Name('t', "snap2").Size(7 * C + 100).Write(C + 10, Fill(20, 9)).Write(6 * C, Fill(C + 100, 3)).End();
        RbdDiff.Import(v, new MemoryStream(inc));
        Array.Resize(ref expected, 7 * C + 100);
        Array.Fill(expected, (byte)9, C + 10, 20);
        Array.Fill(expected, (byte)3, 6 * C, C + 100);
        Assert.Equal(expected, Live(v));
        Assert.Equal(new[] { "snap1", "snap2" }, v.Snapshots.Select(s => s.Name));
    }

    [Fact]
    public void RoundTripBetweenVolumesKeepsEverySnapshot()
    {
        var rng = new Random(5);
        using Volume src = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 32 * C, ChunkSize = C });
        using Volume dst = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
        string? previous = null;
        for (int i = 1; i <= 4; i++)
        {
            byte[] d = new byte[rng.Next(1, 5 * C)];
            rng.NextBytes(d);
            src.Write(rng.Next(0, (int)src.Size - d.Length), d);
            src.WriteZeroes(rng.Next(0, 30) * C, C);
            string name = "s" + i;
            src.CreateSnapshot(name);
            using var ms = new MemoryStream();
            RbdDiff.Export(src.GetDelta(previous, name), ms);
            RbdDiff.Import(dst, new MemoryStream(ms.ToArray()));
            Assert.Equal(Live(src), Live(dst));
            previous = name;
        }
    }

    [Fact]
    public void MalformedTruncatedOrMisplacedDiffsAreRefusedAndLeaveTheTargetUnchanged()
    {
        using Volume v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 4 * C, ChunkSize = C });
        v.Write(0, Fill(4 * C, 5));
        v.CreateSnapshot("base");
        byte[] before = Live(v);
        byte[] good = new Fixture().Name('f', "base").Name('t', "next").Size(4 * C).Write(C, Fill(C, 6)).End();
        for (int cut = 0; cut < good.Length; cut++)
        {
            var ex = Assert.Throws<SnapshotToolsException>(() => RbdDiff.Import(v, new MemoryStream(good, 0, cut)));
            Assert.True(ex.Code is SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.CorruptStream, $"cut {cut}: {ex.Code}");
        }
        Assert.Equal(SnapshotErrorCode.CorruptStream, Assert.Throws<SnapshotToolsException>(() =>
            RbdDiff.Import(v, new MemoryStream(new Fixture().Name('f', "base").Name('t', "x").Size(4 * C).Write(4 * C - 1, Fill(2, 1)).End()))).Code);
        Assert.Equal(SnapshotErrorCode.CorruptStream, Assert.Throws<SnapshotToolsException>(() =>
            RbdDiff.Import(v, new MemoryStream(new Fixture().Name('f', "base").Name('t', "x").Size(4 * C).Write(2 * C, Fill(9, 1)).Write(C, Fill(9, 1)).End()))).Code);
        Assert.Equal(SnapshotErrorCode.WrongBase, Assert.Throws<SnapshotToolsException>(() =>
            RbdDiff.Import(v, new MemoryStream(new Fixture().Name('f', "other").Name('t', "x").Size(4 * C).End()))).Code);
        Assert.Equal(SnapshotErrorCode.DuplicateImport, Assert.Throws<SnapshotToolsException>(() =>
            RbdDiff.Import(v, new MemoryStream(new Fixture().Name('f', "base").Name('t', "base").Size(4 * C).End()))).Code);
        byte[] trailing = good.Concat(new byte[] { 1 }).ToArray();
        Assert.Equal(SnapshotErrorCode.CorruptStream, Assert.Throws<SnapshotToolsException>(() => RbdDiff.Import(v, new MemoryStream(trailing))).Code);
        Assert.Equal(before, Live(v));
        Assert.Single(v.Snapshots);
        v.Write(0, new byte[] { 1 });
        Assert.Equal(SnapshotErrorCode.TargetModified, Assert.Throws<SnapshotToolsException>(() => RbdDiff.Import(v, new MemoryStream(good))).Code);
        RbdDiff.Import(v, new MemoryStream(good), force: true);
        byte[] expected = Fill(4 * C, 5);
        Array.Fill(expected, (byte)6, C, C);
        Assert.Equal(expected, Live(v));
    }
}
