using System.Buffers.Binary;
using System.Text;
using SnapshotTools.Engine.Snapshots;
using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Shared helpers of the seed-scenario, error and corruption tests: labelled blocks (one block = one chunk) that can be
/// named back from their bytes, images and deltas described as strings, and a reader of the preservation store files
/// that parses them independently of the engine.
/// </summary>
internal static class SeedKit
{
    /// <summary>The chunk size of the block-level scenarios: one seed block is one chunk.</summary>
    public const int C = 4096;

    /// <summary>
    /// A block labelled <paramref name="name"/>: the ASCII name, a zero byte, then a non-zero pattern derived from the
    /// name, so every label is a distinct, recognisable, non-zero block.
    /// </summary>
    public static byte[] Label(string name, int size = C)
    {
        var block = new byte[size];
        byte[] ascii = Encoding.ASCII.GetBytes(name);
        ascii.CopyTo(block, 0);
        uint h = 2166136261;
        foreach (byte b in ascii)
        {
            h = (h ^ b) * 16777619;
        }
        for (int i = ascii.Length + 1; i < size; i++)
        {
            h = h * 1103515245 + 12345;
            block[i] = (byte)((h >> 16) | 1);
        }
        return block;
    }

    /// <summary>Names a block: its label, "0" when all zero, "?" when it is neither (wrong or torn bytes).</summary>
    public static string NameOf(ReadOnlySpan<byte> block)
    {
        if (block.IndexOfAnyExcept((byte)0) < 0)
        {
            return "0";
        }
        int end = block.IndexOf((byte)0);
        if (end <= 0 || end > 32)
        {
            return "?";
        }
        string name = Encoding.ASCII.GetString(block.Slice(0, end));
        return block.SequenceEqual(Label(name, block.Length)) ? name : "?";
    }

    /// <summary>Reads the whole live volume (<paramref name="snapshot"/> null) or snapshot.</summary>
    public static byte[] ReadAll(Volume v, string? snapshot)
    {
        long size = snapshot == null ? v.Size : v.GetSnapshot(snapshot).Size;
        var image = new byte[size];
        if (snapshot == null)
        {
            v.Read(0, image);
        }
        else
        {
            v.ReadSnapshot(snapshot, 0, image);
        }
        return image;
    }

    /// <summary>Describes an image block by block: "A0 B2 0 ...".</summary>
    public static string Describe(byte[] image, int blockSize = C)
    {
        var names = new List<string>();
        for (int off = 0; off < image.Length; off += blockSize)
        {
            names.Add(NameOf(image.AsSpan(off, Math.Min(blockSize, image.Length - off))));
        }
        return string.Join(" ", names);
    }

    /// <summary>Describes the live volume or a snapshot block by block.</summary>
    public static string Image(Volume v, string? snapshot) => Describe(ReadAll(v, snapshot));

    /// <summary>
    /// Describes a delta chunk by chunk as "block:label" for data (read with ReadData), "block:zero" and
    /// "block:unmapped"; <paramref name="firstBlock"/> is the number of chunk 0 (1 for seed 001's blocks 1-6).
    /// </summary>
    public static string DescribeDelta(VolumeDelta delta, int firstBlock = 0)
    {
        var items = new List<string>();
        var buffer = new byte[C];
        foreach (DeltaExtent e in delta)
        {
            Assert.True(e.Offset % C == 0 && (e.Length % C == 0 || e.End == delta.ToSize), $"extent {e} is not chunk aligned");
            for (long off = e.Offset; off < e.End; off += C)
            {
                long block = off / C + firstBlock;
                int n = (int)Math.Min(C, e.End - off);
                switch (e.Kind)
                {
                    case ExtentKind.Data:
                        delta.ReadData(off, buffer.AsSpan(0, n));
                        items.Add($"{block}:{NameOf(buffer.AsSpan(0, n))}");
                        break;
                    case ExtentKind.Zero:
                        items.Add($"{block}:zero");
                        break;
                    default:
                        items.Add($"{block}:unmapped");
                        break;
                }
            }
        }
        return string.Join(" ", items);
    }

    /// <summary>Checks that the extents of a delta are ordered, disjoint, non-empty and inside the newer side.</summary>
    public static List<DeltaExtent> CheckOrdered(VolumeDelta delta)
    {
        List<DeltaExtent> extents = delta.ToList();
        DeltaExtent? previous = null;
        foreach (DeltaExtent e in extents)
        {
            Assert.True(e.Length > 0, $"empty extent {e}");
            Assert.True(e.Offset >= (previous?.End ?? 0), $"extent {e} is not after the previous one {previous}");
            Assert.False(previous?.End == e.Offset && previous?.Kind == e.Kind, $"adjacent extents {previous} and {e} of one kind are not merged");
            Assert.True(e.End <= delta.ToSize, $"extent {e} passes the newer side's end {delta.ToSize}");
            previous = e;
        }
        return extents;
    }

    /// <summary>
    /// Applies a delta to a copy of the older side's image the way a consumer would: resize to the newer size, write
    /// data extents, zero the zero and unmapped extents. The result must equal the newer side's image.
    /// </summary>
    public static byte[] Apply(byte[] olderImage, VolumeDelta delta)
    {
        var copy = new byte[delta.ToSize];
        olderImage.AsSpan(0, (int)Math.Min(olderImage.Length, copy.Length)).CopyTo(copy);
        foreach (DeltaExtent e in delta)
        {
            Span<byte> target = copy.AsSpan((int)e.Offset, (int)e.Length);
            if (e.Kind == ExtentKind.Data)
            {
                delta.ReadData(e.Offset, target);
            }
            else
            {
                target.Clear();
            }
        }
        return copy;
    }

    /// <summary>The kind of each chunk of the live volume or a snapshot, from a full delta: "D" data, "Z" zero, "U" unmapped, "-" excluded.</summary>
    public static string InUse(Volume v, string? snapshot)
    {
        VolumeDelta full = v.GetDelta(null, snapshot);
        var kinds = new char[(full.ToSize + C - 1) / C];
        Array.Fill(kinds, '-');
        foreach (DeltaExtent e in full)
        {
            for (long off = e.Offset; off < e.End; off += C)
            {
                kinds[off / C] = e.Kind switch { ExtentKind.Data => 'D', ExtentKind.Zero => 'Z', _ => 'U' };
            }
        }
        return new string(kinds);
    }

    /// <summary>One record of a preservation index, parsed from the file bytes.</summary>
    public readonly record struct IndexRecord(long Ordinal, long Chunk, PreservedKind Kind, uint DataCrc);

    /// <summary>Parses the records of <c>snap-SEQ.idx</c> (layout in docs/store-format.md), including unpublished ones.</summary>
    public static List<IndexRecord> Records(MemoryStorage storage, long sequence)
    {
        byte[] idx = storage.ReadAllBytes(PreservationLog.IndexName(sequence));
        var list = new List<IndexRecord>();
        for (int off = PreservationLog.HeaderLength; off + PreservationLog.RecordLength <= idx.Length; off += PreservationLog.RecordLength)
        {
            ReadOnlySpan<byte> r = idx.AsSpan(off, PreservationLog.RecordLength);
            list.Add(new IndexRecord(
                (long)BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(8)),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(0)),
                (PreservedKind)r[16],
                BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(20))));
        }
        return list;
    }

    /// <summary>Describes a preservation store: "chunk:label" for data records, "chunk:zero|unmapped|excluded|void" otherwise.</summary>
    public static string Store(MemoryStorage storage, long sequence, int firstBlock = 0)
    {
        byte[] dat = storage.ReadAllBytes(PreservationLog.DataName(sequence));
        var items = new List<string>();
        foreach (IndexRecord r in Records(storage, sequence))
        {
            long block = r.Chunk + firstBlock;
            if (r.Kind == PreservedKind.Data)
            {
                var data = new byte[C];
                long at = DataOffset(r.Chunk);
                if (at < dat.Length)
                {
                    dat.AsSpan((int)at, (int)Math.Min(C, dat.Length - at)).CopyTo(data);
                }
                items.Add($"{block}:{NameOf(data)}");
            }
            else
            {
                items.Add($"{block}:{r.Kind.ToString().ToLowerInvariant()}");
            }
        }
        return string.Join(" ", items);
    }

    /// <summary>
    /// Where chunk <paramref name="chunk"/>'s slot lies in <c>snap-SEQ.dat</c> at chunk size <paramref name="chunkSize"/>
    /// (format version 2, docs/store-format.md): groups of 1024 chunks, each a 4096-byte CRC block then the slots.
    /// Written out here rather than taken from the engine, so a change of layout fails the tests that rely on it.
    /// </summary>
    public static long DataOffset(long chunk, int chunkSize = C) => chunk / 1024 * (4096 + 1024L * chunkSize) + 4096 + chunk % 1024 * chunkSize;

    /// <summary>Where chunk <paramref name="chunk"/>'s u32 CRC-32C entry lies in <c>snap-SEQ.dat</c>.</summary>
    public static long CrcEntryOffset(long chunk, int chunkSize = C) => chunk / 1024 * (4096 + 1024L * chunkSize) + 4 * (chunk % 1024);

    /// <summary>Whether the bytes of <paramref name="block"/> occur anywhere in the data files of the preservation stores.</summary>
    public static bool AnyStoreHolds(MemoryStorage storage, byte[] block)
    {
        foreach (string file in storage.List())
        {
            if (file.StartsWith("snap-", StringComparison.Ordinal) && file.EndsWith(".dat", StringComparison.Ordinal)
                && storage.ReadAllBytes(file).AsSpan().IndexOf(block) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Flips (inverts) one byte of a file in memory storage, durably.</summary>
    public static void FlipByte(MemoryStorage storage, string file, long offset)
    {
        byte[] bytes = storage.ReadAllBytes(file);
        bytes[offset] ^= 0xFF;
        storage.WriteAllBytes(file, bytes);
    }

    /// <summary>Asserts that <paramref name="action"/> throws the engine exception with <paramref name="code"/>.</summary>
    public static SnapshotToolsException Throws(SnapshotErrorCode code, Action action)
    {
        SnapshotToolsException ex = Assert.Throws<SnapshotToolsException>(action);
        Assert.True(ex.Code == code, $"expected {code}, got {ex.Code}: {ex.Message}");
        Assert.Equal("SnapshotTools." + code, ex.ErrorId);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        return ex;
    }

    /// <summary>A fresh folder under the temp directory, removed on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder(string prefix = "st-seed-")
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string Sub(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder does not fail a test.
            }
        }
    }
}
