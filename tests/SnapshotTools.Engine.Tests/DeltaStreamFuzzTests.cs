using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Streams;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// A mutation fuzzer over delta streams: thousands of randomly damaged streams (bit flips, byte changes,
/// truncation, insertion, deletion, duplicated and swapped spans). Each must be refused with one of the stream
/// errors, never crash or hang, and never alter the target; a mutation that happens to leave a valid stream must
/// import to exactly the source snapshot.
/// </summary>
public class DeltaStreamFuzzTests
{
    private const int C = 4096;

    private static readonly SnapshotErrorCode[] s_expected =
    {
        SnapshotErrorCode.CorruptStream, SnapshotErrorCode.TruncatedStream, SnapshotErrorCode.UnsupportedFormat,
        SnapshotErrorCode.WrongKey, SnapshotErrorCode.KeyRequired,
    };

    private static byte[] Read(Volume v, string? snapshot)
    {
        long size = snapshot == null ? v.Size : v.GetSnapshot(snapshot).Size;
        byte[] b = new byte[size];
        if (snapshot == null)
        {
            v.Read(0, b);
        }
        else
        {
            v.ReadSnapshot(snapshot, 0, b);
        }
        return b;
    }

    [Theory]
    [InlineData(1, StreamCompression.None, false)]
    [InlineData(2, StreamCompression.Deflate, false)]
    [InlineData(3, StreamCompression.Deflate, true)]
    [InlineData(4, StreamCompression.Brotli, true)]
    public void DamagedStreamsAreRefusedWithoutTouchingTheTarget(int seed, StreamCompression compression, bool encrypted)
    {
        var rng = new Random(seed);
        using Volume src = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 24 * C + 17, ChunkSize = C });
        byte[] data = new byte[8 * C];
        rng.NextBytes(data);
        src.Write(0, data);
        src.CreateSnapshot("base");
        src.Write(3 * C + 11, data.AsSpan(0, 3 * C));
        src.WriteZeroes(12 * C, 2 * C);
        src.Discard(1 * C, C);
        src.Resize(26 * C);
        src.CreateSnapshot("next");
        byte[]? key = encrypted ? StreamKey.Generate() : null;
        using var ms = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta("base", "next"), ms, new DeltaStreamOptions { Compression = compression, Key = key, RecordDataSize = 4096 });
        byte[] stream = ms.ToArray();
        using var full = new MemoryStream();
        DeltaStreamWriter.Write(src.GetDelta(null, "base"), full, new DeltaStreamOptions { Key = key });

        Volume NewTarget()
        {
            Volume t = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = C, ChunkSize = C });
            DeltaImporter.Import(t, new MemoryStream(full.ToArray()), new ImportOptions { Key = key });
            return t;
        }

        Volume target = NewTarget();
        byte[] before = Read(target, null);
        byte[] expectedNext = Read(src, "next");
        int refused = 0;
        try
        {
            for (int i = 0; i < 600; i++)
            {
                byte[] bad = Mutate(stream, rng);
                try
                {
                    DeltaImporter.Import(target, new MemoryStream(bad), new ImportOptions { Key = key });
                }
                catch (SnapshotToolsException ex)
                {
                    Assert.Contains(ex.Code, s_expected);
                    refused++;
                    Assert.Single(target.Snapshots);
                    Assert.Equal(before, Read(target, null));
                    continue;
                }
                // The mutation left a valid stream: it must have imported exactly the source snapshot.
                Assert.Equal(expectedNext, Read(target, "next"));
                target.Dispose();
                target = NewTarget();
            }
        }
        finally
        {
            target.Dispose();
        }
        Assert.True(refused > 500, $"only {refused} of 600 damaged streams were refused");
    }

    private static byte[] Mutate(byte[] s, Random rng)
    {
        var list = new List<byte>(s);
        int kinds = rng.Next(1, 4);
        for (int k = 0; k < kinds && list.Count > 0; k++)
        {
            int at = rng.Next(list.Count);
            switch (rng.Next(7))
            {
                case 0:
                    list[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    list[at] = (byte)rng.Next(256);
                    break;
                case 2:
                    list.RemoveRange(at, list.Count - at);
                    break;
                case 3:
                    list.InsertRange(at, Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (byte)rng.Next(256)));
                    break;
                case 4:
                    list.RemoveRange(at, Math.Min(list.Count - at, rng.Next(1, 200)));
                    break;
                case 5:
                {
                    int len = Math.Min(list.Count - at, rng.Next(1, 500));
                    list.InsertRange(rng.Next(list.Count), list.GetRange(at, len));
                    break;
                }
                default:
                {
                    int len = Math.Min(list.Count - at, rng.Next(1, 300));
                    int other = rng.Next(Math.Max(1, list.Count - len));
                    List<byte> a = list.GetRange(at, len);
                    List<byte> b = list.GetRange(other, Math.Min(len, list.Count - other));
                    for (int i = 0; i < b.Count; i++)
                    {
                        list[at + i] = b[i];
                    }
                    for (int i = 0; i < a.Count && other + i < list.Count; i++)
                    {
                        list[other + i] = a[i];
                    }
                    break;
                }
            }
        }
        return list.ToArray();
    }
}
