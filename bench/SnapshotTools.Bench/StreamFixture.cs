using System.Diagnostics;
using System.Runtime.InteropServices;
using SnapshotTools.Engine;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// The issue-3 test bed, built once and shared by the <c>stream</c>, <c>peers</c> and <c>restore</c> sections: an
/// engine volume (default 8 GiB, 64 KiB chunks) filled with data, snapshot <c>s0</c>, then 1% of its chunks (distinct,
/// random) rewritten with new data, snapshot <c>s1</c>. Next to it, on the same file system, the same bytes as raw
/// images: <c>image.raw</c> (the volume at s1) and, for the peers, <c>base.raw</c> (the volume at s0).
/// </summary>
/// <remarks>
/// Content: every 4 KiB block is 2 KiB of pseudo-random bytes followed by a copy of them, so deflate, lz4 and zstd
/// all compress it about 2:1, and no two blocks of the volume are alike (nothing for borg or restic to deduplicate
/// that a real disk would not have). A chunk's bytes are a function of (chunk index, generation): generation 0 is
/// s0, 1 is the change to s1, higher generations are later changes; so any state can be rewritten without storing it.
/// </remarks>
internal sealed class StreamFixture
{
    public const int ChunkSize = 64 * 1024;
    private static StreamFixture? _shared;

    private StreamFixture(string dir, long size, long[] changed, bool hasBase)
    {
        Dir = dir;
        Size = size;
        Changed = changed;
        HasBase = hasBase;
    }

    public string Dir { get; }

    public long Size { get; }

    /// <summary>The chunks changed between s0 and s1, ascending.</summary>
    public long[] Changed { get; }

    public long ChangedBytes => Changed.LongLength * ChunkSize;

    public string VolumeDir => Path.Combine(Dir, "vol");

    public string ImagePath => Path.Combine(Dir, "image.raw");

    public string BasePath => Path.Combine(Dir, "base.raw");

    public bool HasBase { get; private set; }

    /// <summary>Whether the volume is still exactly s0 -> s1 with nothing after (the restore section adds to it).</summary>
    public bool Pristine { get; set; } = true;

    public static StreamFixture Get(Config c, Report report)
    {
        return _shared ??= Build(c, report);
    }

    /// <summary>The base image is only needed by the peers; the restore section removes it to make room.</summary>
    public void DropBase()
    {
        if (HasBase)
        {
            File.Delete(BasePath);
            HasBase = false;
        }
    }

    /// <summary>Free disk the sections need for a volume of <paramref name="size"/>, with everything they keep at once.</summary>
    public static long Need(Config c, long size)
    {
        bool peers = c.Sections.Contains("peers");
        bool restore = c.Sections.Contains("restore");
        bool stream = c.Sections.Contains("stream");
        // volume + image.raw (+1% preserved); peers: base.raw + the largest peer repository (borg: a 2:1 full plus
        // ~22% of the image per incremental with its ~2 MiB chunks); restore: the repository (full + 10 x 1%) and one
        // restored image or volume at a time; stream: the 1 GiB memory volume and the exported streams.
        double factor = 2.02 + Math.Max(peers ? 1.0 + 0.5 + 0.22 * (c.RepsPeers + c.RepsPeersCold) : 0, restore ? 2.15 : 0);
        long extra = stream ? Math.Min(GiB, size) + 256 * MiB : 0;
        return (long)(size * factor) + extra + GiB;
    }

    private static StreamFixture Build(Config c, Report report)
    {
        string dir = Path.Combine(c.Root, "stream");
        Directory.CreateDirectory(dir);
        long size = c.StreamVolume;
        long requested = size;
        long available = new DriveInfo(dir).AvailableFreeSpace;
        long floor = c.Quick ? 64 * MiB : GiB;
        while (size > floor && Need(c, size) > available)
        {
            size /= 2;
        }
        if (size != requested)
        {
            report.Note($"SCALED DOWN: the issue-3 volume is {Size(size)}, not {Size(requested)}: these sections need about " +
                $"{Size(Need(c, requested))} free and {Size(available)} is available. Byte counts and times scale with it; the ratios are what to compare.");
        }
        if (Need(c, size) > available)
        {
            report.Note($"WARNING: only {Size(available)} free; the issue-3 sections need about {Size(Need(c, size))} even at {Size(size)}.");
        }
        long chunks = size / ChunkSize;
        long[] changed = PickChunks(chunks, chunks / 100, 3);
        bool withBase = c.Sections.Contains("peers");
        var f = new StreamFixture(dir, size, changed, withBase);
        Console.WriteLine($"[fixture] {Size(size)} volume, {chunks:N0} chunks of 64 KiB, {changed.Length:N0} (1%) changed between s0 and s1 " +
            $"({Size(f.ChangedBytes)}); raw image{(withBase ? "s image.raw (s1) and base.raw (s0)" : " image.raw (s1)")} beside it");
        f.Create(report);
        return f;
    }

    private void Create(Report report)
    {
        long t0 = Stopwatch.GetTimestamp();
        using var storage = new SetupStorage(VolumeDir);
        byte[] buffer = new byte[MiB];
        long generate = 0, toVolume = 0, toImages = 0;
        using (PlainFile image = PlainFile.CreateEmpty(ImagePath))
        using (PlainFile? baseImage = HasBase ? PlainFile.CreateEmpty(BasePath) : null)
        {
            image.SetLength(Size);
            baseImage?.SetLength(Size);
            using (Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = Size, Name = "stream-bench" }))
            {
                for (long off = 0; off < Size; off += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, Size - off);
                    long g0 = Stopwatch.GetTimestamp();
                    for (int k = 0; k < n; k += ChunkSize)
                    {
                        FillChunk(buffer.AsSpan(k, ChunkSize), (off + k) / ChunkSize, 0);
                    }
                    long g1 = Stopwatch.GetTimestamp();
                    volume.Write(off, buffer.AsSpan(0, n));
                    long g2 = Stopwatch.GetTimestamp();
                    image.Write(off, buffer.AsSpan(0, n));
                    baseImage?.Write(off, buffer.AsSpan(0, n));
                    long g3 = Stopwatch.GetTimestamp();
                    generate += g1 - g0;
                    toVolume += g2 - g1;
                    toImages += g3 - g2;
                }
                volume.CreateSnapshot("s0");
                byte[] chunk = new byte[ChunkSize];
                foreach (long ch in Changed)
                {
                    FillChunk(chunk, ch, 1);
                    volume.Write(ch * ChunkSize, chunk);
                    image.Write(ch * ChunkSize, chunk);
                }
                volume.CreateSnapshot("s1");
                storage.Durable = true;
            }
            long s0 = Stopwatch.GetTimestamp();
            image.Flush();
            baseImage?.Flush();
            toImages += Stopwatch.GetTimestamp() - s0;
        }
        report.Note($"Issue-3 set-up: {Size(Size)} written to the volume and to {(HasBase ? "two raw images" : "one raw image")} " +
            $"(engine fsyncs skipped while building, closed with real fsyncs), then {Changed.Length:N0} chunks rewritten: {Stats.Seconds(t0, Stopwatch.GetTimestamp()):F1} s " +
            $"(generating the data {generate / (double)Stopwatch.Frequency:F1} s, Volume.Write {toVolume / (double)Stopwatch.Frequency:F1} s, raw image writes and fsync {toImages / (double)Stopwatch.Frequency:F1} s).");
    }

    /// <summary>Rewrites the changed chunks of a raw image with generation <paramref name="generation"/>, then fsyncs it.</summary>
    public void WriteChanged(string imagePath, int generation, long[]? chunks = null)
    {
        byte[] chunk = new byte[ChunkSize];
        using var h = File.OpenHandle(imagePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, FileOptions.RandomAccess);
        foreach (long ch in chunks ?? Changed)
        {
            FillChunk(chunk, ch, generation);
            RandomAccess.Write(h, chunk, ch * ChunkSize);
        }
        using var fs = new FileStream(h, FileAccess.ReadWrite, 0);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Distinct random chunk indexes, ascending.</summary>
    public static long[] PickChunks(long chunks, long count, int seed)
    {
        var rng = new Random(seed);
        var set = new HashSet<long>();
        while (set.Count < count)
        {
            set.Add(rng.NextInt64(chunks));
        }
        long[] a = set.ToArray();
        Array.Sort(a);
        return a;
    }

    /// <summary>The bytes of chunk <paramref name="index"/> at <paramref name="generation"/>: per 4 KiB, 2 KiB of
    /// xorshift output and a copy of it (about 2:1 for LZ compressors).</summary>
    public static void FillChunk(Span<byte> chunk, long index, int generation)
    {
        ulong s = SplitMix((ulong)index * 0x9E3779B97F4A7C15UL ^ ((ulong)(uint)generation << 40) ^ 0xA0761D6478BD642FUL);
        if (s == 0)
        {
            s = 1;
        }
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(chunk);
        const int blockWords = 4096 / 8;
        const int half = blockWords / 2;
        for (int b = 0; b + blockWords <= words.Length; b += blockWords)
        {
            Span<ulong> first = words.Slice(b, half);
            for (int i = 0; i < first.Length; i++)
            {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                first[i] = s * 0x2545F4914F6CDD1DUL;
            }
            first.CopyTo(words.Slice(b + half, half));
        }
    }

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
