using System.Diagnostics;
using System.Globalization;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// Issue 3, goals 1 and 4: export throughput of <see cref="DeltaStreamWriter"/> for the incremental s0 -> s1 (1% of
/// the chunks) against reading the same chunks raw from a raw image with pread at the same offsets; and the peak
/// memory of that export as the volume grows with the same changed bytes.
/// </summary>
internal static class StreamExportBench
{
    private const int ChunkSize = StreamFixture.ChunkSize;

    /// <summary>One timed pass: seconds, this process's I/O during it, and bytes written.</summary>
    internal readonly record struct PassResult(double Seconds, IoCounters Io, long Written);

    internal sealed class Series
    {
        public List<PassResult> Passes { get; } = new();

        public List<double> Seconds => Passes.Select(p => p.Seconds).ToList();

        public double Median => Stats.Median(Seconds);

        public double MedianOf(Func<PassResult, double> f) => Stats.Median(Passes.Select(f).ToList());
    }

    public static void Run(Config c, Report report)
    {
        StreamFixture f = StreamFixture.Get(c, report);
        Throughputs(c, f, report);
        Memory(c, f, report);
    }

    /// <summary>Exports <paramref name="from"/> -> <paramref name="to"/> to a new file as the repository does (1 MiB
    /// buffered FileStream, then fsync), timing everything from GetDelta to the fsync.</summary>
    public static (PassResult Pass, DeltaStreamSummary Summary) ExportToFile(Volume volume, string from, string to, string path, StreamCompression compression)
    {
        var options = new DeltaStreamOptions { Compression = compression, Level = 1 };
        IoCounters io0 = IoCounters.Self();
        long t0 = Stopwatch.GetTimestamp();
        DeltaStreamSummary summary;
        using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024))
        {
            summary = DeltaStreamWriter.Write(volume.GetDelta(from, to), output, options);
            output.Flush(flushToDisk: true);
        }
        long t1 = Stopwatch.GetTimestamp();
        IoCounters io = IoCounters.Self() - io0;
        return (new PassResult(Stats.Seconds(t0, t1), io, summary.StreamBytes), summary);
    }

    /// <summary>The baseline: pread of each changed chunk of the raw image at its offset (same open options as the
    /// engine's live file), ascending, one 64 KiB read each.</summary>
    public static PassResult RawRead(string imagePath, long[] chunks, byte[] buffer)
    {
        IoCounters io0 = IoCounters.Self();
        long t0 = Stopwatch.GetTimestamp();
        using (var h = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess))
        {
            foreach (long ch in chunks)
            {
                RandomAccess.Read(h, buffer.AsSpan(0, ChunkSize), ch * ChunkSize);
            }
        }
        long t1 = Stopwatch.GetTimestamp();
        return new PassResult(Stats.Seconds(t0, t1), IoCounters.Self() - io0, 0);
    }

    /// <summary>For the analysis: the same pread, each chunk written on to a file (1 MiB buffered), then fsync: what
    /// moving the bytes costs with no format, checksums or hashing.</summary>
    public static PassResult RawCopy(string imagePath, long[] chunks, byte[] buffer, string outPath)
    {
        IoCounters io0 = IoCounters.Self();
        long t0 = Stopwatch.GetTimestamp();
        using (var h = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess))
        using (var output = new FileStream(outPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024))
        {
            foreach (long ch in chunks)
            {
                RandomAccess.Read(h, buffer.AsSpan(0, ChunkSize), ch * ChunkSize);
                output.Write(buffer, 0, ChunkSize);
            }
            output.Flush(flushToDisk: true);
        }
        long t1 = Stopwatch.GetTimestamp();
        return new PassResult(Stats.Seconds(t0, t1), IoCounters.Self() - io0, chunks.LongLength * ChunkSize);
    }

    private static void Throughputs(Config c, StreamFixture f, Report report)
    {
        bool cold = c.Cold && PageCache.CanDrop;
        Console.WriteLine($"[S1] Export of the incremental s0 -> s1 ({f.Changed.Length:N0} chunks, {Size(f.ChangedBytes)}) of the {Size(f.Size)} volume vs pread of the same chunks " +
            $"from a raw image: {c.RepsStream} warm reps{(cold ? $", {c.RepsStreamCold} cold-cache reps" : "")}");
        if (c.Cold && !cold)
        {
            report.Note("Cold-cache runs skipped: /proc/sys/vm/drop_caches is not writable here (needs root). Only warm-cache figures.");
        }
        string dir = Path.Combine(f.Dir, "export");
        Directory.CreateDirectory(dir);
        string outPath = Path.Combine(dir, "out.stdelta");
        byte[] buffer = new byte[ChunkSize];
        DeltaStreamSummary? none = null, deflate = null;
        using (Volume volume = Volume.Open(f.VolumeDir))
        {
            var passes = new (string Name, Func<PassResult> Run)[]
            {
                ("engine, none", () =>
                {
                    var r = ExportToFile(volume, "s0", "s1", outPath, StreamCompression.None);
                    none = r.Summary;
                    return r.Pass;
                }),
                ("raw pread", () => RawRead(f.ImagePath, f.Changed, buffer)),
                ("engine, deflate 1", () =>
                {
                    var r = ExportToFile(volume, "s0", "s1", outPath, StreamCompression.Deflate);
                    deflate = r.Summary;
                    return r.Pass;
                }),
                ("raw pread + write + fsync", () => RawCopy(f.ImagePath, f.Changed, buffer, outPath)),
                ("model X1 serial", () => ExportModel.Run(f.ImagePath, f.Changed, outPath, readers: 0)),
                ("model X2 pipelined, 1 reader", () => ExportModel.Run(f.ImagePath, f.Changed, outPath, readers: 1)),
                ("model X3 pipelined, 4 readers", () => ExportModel.Run(f.ImagePath, f.Changed, outPath, readers: 4)),
            };
            // Warm-up (JIT, and the chunks into the page cache), not timed.
            foreach (var p in passes)
            {
                p.Run();
                File.Delete(outPath);
            }
            Series[] warm = passes.Select(_ => new Series()).ToArray();
            Series[] coldSeries = passes.Select(_ => new Series()).ToArray();
            RunReps(passes, warm, c.RepsStream, dropFirst: false, outPath);
            if (cold)
            {
                RunReps(passes, coldSeries, c.RepsStreamCold, dropFirst: true, outPath);
            }
            for (int i = 0; i < passes.Length; i++)
            {
                Console.WriteLine($"    {passes[i].Name,-30} warm s: {Stats.List(warm[i].Seconds, "F4")}" + (cold ? $" | cold s: {Stats.List(coldSeries[i].Seconds, "F3")}" : ""));
            }
            AddRows(c, f, report, "warm cache", warm, none!, deflate!);
            if (cold)
            {
                AddRows(c, f, report, "cold cache", coldSeries, none!, deflate!);
            }
        }
        Directory.Delete(dir, recursive: true);
    }

    private static void RunReps((string Name, Func<PassResult> Run)[] passes, Series[] into, int reps, bool dropFirst, string outPath)
    {
        for (int r = 0; r < reps; r++)
        {
            for (int k = 0; k < passes.Length; k++)
            {
                // Rotate the order so drift on the shared machine hits every side alike.
                int i = (r + k) % passes.Length;
                if (dropFirst)
                {
                    PageCache.Drop();
                }
                into[i].Passes.Add(passes[i].Run());
                if (File.Exists(outPath))
                {
                    File.Delete(outPath);
                }
            }
        }
    }

    private static double PairedRatio(Series engine, Series baseline)
    {
        var ratios = new List<double>();
        for (int i = 0; i < Math.Min(engine.Passes.Count, baseline.Passes.Count); i++)
        {
            ratios.Add(baseline.Passes[i].Seconds / engine.Passes[i].Seconds);
        }
        return Stats.Median(ratios);
    }

    private static void AddRows(Config c, StreamFixture f, Report report, string cache, Series[] s, DeltaStreamSummary none, DeltaStreamSummary deflate)
    {
        double mib = f.ChangedBytes / (double)MiB;
        Series engine = s[0], raw = s[1], engineDeflate = s[2], copy = s[3];
        Series[] models = { s[4], s[5], s[6] };
        double ratio = PairedRatio(engine, raw);
        double ratioDeflate = PairedRatio(engineDeflate, raw);
        double ratioCopy = PairedRatio(copy, raw);
        double ratioVsCopy = PairedRatio(engine, copy);
        string io(Series x) => $"rchar {Size((long)x.MedianOf(p => p.Io.RChar))}, read_bytes {Size((long)x.MedianOf(p => p.Io.ReadBytes))}";
        string size = Size(f.Size);
        report.Add(new Row($"S1. Export of the incremental (1% of the chunks of the {size} volume, {Size(f.ChangedBytes)}), Compression None, to a file, fsynced; {cache}",
            $"{mib / engine.Median:F0} MiB/s", $"{mib / raw.Median:F0} MiB/s (pread of the same chunks)", $"{ratio:F2}", ">= 0.8", ratio >= 0.8 ? "yes" : "**no**",
            $"medians of {engine.Passes.Count} reps: export {engine.Median * 1000:F1} ms vs pread {raw.Median * 1000:F1} ms; engine {io(engine)}; pread {io(raw)}; " +
            $"stream {Size(none.StreamBytes)} in {none.Records:N0} records")
        { Group = Report.Issue3 });
        report.Add(new Row($"S1b. Same with deflate level 1, {cache}", $"{mib / engineDeflate.Median:F0} MiB/s", $"{mib / raw.Median:F0} MiB/s", $"{ratioDeflate:F2}", "(info)", "",
            $"stream {Size(deflate.StreamBytes)} ({deflate.StreamBytes / (double)none.StreamBytes:P0} of the uncompressed stream); export {engineDeflate.Median * 1000:F1} ms")
        { Group = Report.Issue3 });
        report.Add(new Row($"S1c. Analysis, {cache}: pread + write the same bytes to a file + fsync (no format, no hashing), vs pread", $"{mib / copy.Median:F0} MiB/s", $"{mib / raw.Median:F0} MiB/s",
            $"{ratioCopy:F2}", "(analysis)", "", $"the engine's export vs this plain copy: ratio {ratioVsCopy:F2} (export {engine.Median * 1000:F1} ms, copy {copy.Median * 1000:F1} ms)")
        { Group = Report.Issue3 });
        string[] labels =
        {
            "X1 model of the writer's work, serial (pread, SHA-256, CRC-32C, framed write, per chunk in one thread; fsync)",
            "X2 the same work pipelined: 1 reader thread reads and hashes ahead (4 MiB ring), the writer writes in order",
            "X3 the same with 4 reader threads (pread at queue depth 4)",
        };
        for (int m = 0; m < models.Length; m++)
        {
            double rm = PairedRatio(models[m], raw);
            report.Add(new Row($"S1m. Analysis, {cache}: {labels[m]}, vs pread", $"{mib / models[m].Median:F0} MiB/s", $"{mib / raw.Median:F0} MiB/s", $"{rm:F2}", "(model)", "",
                $"{models[m].Median * 1000:F1} ms; vs the engine's export: {PairedRatio(models[m], engine):F2}x its throughput")
            { Group = Report.Issue3 });
        }
    }

    // ---- Goal 4: memory ---------------------------------------------------------------------------------------------

    /// <summary>What the child process measured around one export.</summary>
    internal sealed record MemoryProbe(double OpenMs, double ExportMs, long GcBefore, long GcOpen, long GcPeak, long RssBefore, long RssOpen, long RssPeak,
        long Allocated, bool PeakReset, long StreamBytes)
    {
        public string Serialize() => string.Join(" ", new[]
        {
            OpenMs.ToString("R", CultureInfo.InvariantCulture), ExportMs.ToString("R", CultureInfo.InvariantCulture),
            GcBefore.ToString(CultureInfo.InvariantCulture), GcOpen.ToString(CultureInfo.InvariantCulture), GcPeak.ToString(CultureInfo.InvariantCulture),
            RssBefore.ToString(CultureInfo.InvariantCulture), RssOpen.ToString(CultureInfo.InvariantCulture), RssPeak.ToString(CultureInfo.InvariantCulture),
            Allocated.ToString(CultureInfo.InvariantCulture), PeakReset ? "1" : "0", StreamBytes.ToString(CultureInfo.InvariantCulture),
        });

        public static MemoryProbe Parse(string line)
        {
            string[] a = line.Split(' ');
            double D(int i) => double.Parse(a[i], CultureInfo.InvariantCulture);
            long L(int i) => long.Parse(a[i], CultureInfo.InvariantCulture);
            return new MemoryProbe(D(0), D(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), a[9] == "1", L(10));
        }
    }

    /// <summary>Child mode: open the volume, then export from -> to into <paramref name="outPath"/> while sampling the
    /// GC heap; the peak resident set comes from the kernel (VmHWM, reset after the open).</summary>
    public static MemoryProbe ProbeExport(string volDir, string from, string to, string outPath, string warmDir)
    {
        // JIT and type loading on a small volume first, so one-time costs are not counted.
        using (Volume warm = Volume.Open(warmDir))
        {
            ExportToFile(warm, "s0", "s1", outPath, StreamCompression.None);
            File.Delete(outPath);
        }
        MachineProbe.CollectGarbage();
        long gcBefore = GC.GetTotalMemory(forceFullCollection: true);
        long rssBefore = PeakMemory.Read().Rss;
        long t0 = Stopwatch.GetTimestamp();
        using Volume volume = Volume.Open(volDir);
        double openMs = Stats.Seconds(t0, Stopwatch.GetTimestamp()) * 1000;
        MachineProbe.CollectGarbage();
        long gcOpen = GC.GetTotalMemory(forceFullCollection: true);
        long rssOpen = PeakMemory.Read().Rss;
        bool reset = PeakMemory.ResetPeak();
        long gcPeak = GC.GetTotalMemory(false);
        var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.IsSet)
            {
                long g = GC.GetTotalMemory(false);
                if (g > Volatile.Read(ref gcPeak))
                {
                    Volatile.Write(ref gcPeak, g);
                }
                done.Wait(1);
            }
        }) { IsBackground = true };
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        sampler.Start();
        (PassResult pass, DeltaStreamSummary summary) = ExportToFile(volume, from, to, outPath, StreamCompression.None);
        done.Set();
        sampler.Join();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        (_, long rssPeak) = PeakMemory.Read();
        File.Delete(outPath);
        return new MemoryProbe(openMs, pass.Seconds * 1000, gcBefore, gcOpen, Math.Max(gcPeak, gcOpen), rssBefore, rssOpen, rssPeak, allocated, reset, summary.StreamBytes);
    }

    private static void Memory(Config c, StreamFixture f, Report report)
    {
        string dir = Path.Combine(f.Dir, "memory");
        Directory.CreateDirectory(dir);
        long count = f.Changed.Length;
        var sizes = new List<(long Size, bool Full, string? VolDir)>
        {
            (c.Quick ? 64 * MiB : GiB, true, null),
            (f.Size, true, f.Pristine ? f.VolumeDir : null),
            (c.Quick ? 4 * GiB : 64 * GiB, false, null),
            (c.Quick ? 64 * GiB : TiB, false, null),
        };
        sizes = sizes.Where(s => s.Size / ChunkSize >= count * 2).DistinctBy(s => s.Size).OrderBy(s => s.Size).ToList();
        Console.WriteLine($"[S4] Peak memory of the export as the volume grows, same {count:N0} changed chunks ({Size(count * ChunkSize)}): " +
            string.Join(", ", sizes.Select(s => $"{Size(s.Size)}{(s.Full ? "" : " sparse")}")) + "; one fresh child process each");
        string warmDir = Path.Combine(dir, "warm");
        Build(warmDir, 64 * MiB, true, StreamFixture.PickChunks(64 * MiB / ChunkSize, 16, 11));
        var results = new List<(long Size, bool Full, MemoryProbe Probe)>();
        try
        {
            foreach ((long size, bool full, string? existing) in sizes)
            {
                string volDir = existing ?? Path.Combine(dir, $"vol-{size / MiB}m");
                if (existing == null)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    Build(volDir, size, full, StreamFixture.PickChunks(size / ChunkSize, count, 7));
                    Console.WriteLine($"    built the {Size(size)} volume in {Stats.Seconds(t0, Stopwatch.GetTimestamp()):F1} s");
                }
                MemoryProbe? p = RunChild(volDir, Path.Combine(dir, "probe.stdelta"), warmDir);
                if (existing == null)
                {
                    Directory.Delete(volDir, recursive: true);
                }
                if (p == null)
                {
                    report.Note($"The memory probe of the {Size(size)} volume failed; see the output above.");
                    continue;
                }
                Console.WriteLine($"    {Size(size),8}{(full ? "" : " sparse")}: open {p.OpenMs:F0} ms (+{(p.GcOpen - p.GcBefore) / (double)MiB:F1} MiB GC heap, +{(p.RssOpen - p.RssBefore) / (double)MiB:F1} MiB RSS); " +
                    $"export {p.ExportMs:F0} ms: peak RSS {p.RssPeak / (double)MiB:F1} MiB (+{(p.RssPeak - p.RssOpen) / (double)MiB:F1} over the open volume), " +
                    $"peak GC heap {p.GcPeak / (double)MiB:F1} MiB (+{(p.GcPeak - p.GcOpen) / (double)MiB:F1}), allocated {Size(p.Allocated)}");
                results.Add((size, full, p));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        if (results.Count == 0)
        {
            return;
        }
        foreach ((long size, bool full, MemoryProbe p) in results)
        {
            double exportRss = (p.RssPeak - p.RssOpen) / (double)MiB;
            double exportGc = (p.GcPeak - p.GcOpen) / (double)MiB;
            report.Add(new Row($"S4. Peak memory of the export, {Size(size)} volume{(full ? "" : " (sparse)")}, same {Size(count * ChunkSize)} changed, fresh process",
                $"+{exportRss:F1} MiB RSS, +{exportGc:F1} MiB GC heap over the open volume", "-", "-", "<= 64 MiB whatever the size", Math.Max(exportRss, exportGc) <= 64 ? "yes" : "**no**",
                $"peak RSS {p.RssPeak / (double)MiB:F1} MiB{(p.PeakReset ? "" : " (VmHWM could not be reset: since process start)")}, peak GC heap {p.GcPeak / (double)MiB:F1} MiB; " +
                $"the open volume itself: +{(p.GcOpen - p.GcBefore) / (double)MiB:F1} MiB GC heap, +{(p.RssOpen - p.RssBefore) / (double)MiB:F1} MiB RSS, Open {p.OpenMs:F0} ms; " +
                $"export {p.ExportMs:F0} ms, {Size(p.Allocated)} allocated during it")
            { Group = Report.Issue3 });
        }
        var first = results[0];
        var last = results[^1];
        double growth = (last.Probe.RssPeak - last.Probe.RssBefore - (first.Probe.RssPeak - first.Probe.RssBefore)) / (double)MiB;
        report.Note($"S4: from the {Size(first.Size)} to the {Size(last.Size)} volume ({last.Size / first.Size}x), the peak RSS above the process before Open " +
            $"(open volume + export) grows by {growth:F1} MiB; the export's own peak stays within " +
            $"{results.Min(r => (r.Probe.RssPeak - r.Probe.RssOpen) / (double)MiB):F1} to {results.Max(r => (r.Probe.RssPeak - r.Probe.RssOpen) / (double)MiB):F1} MiB RSS.");
    }

    /// <summary>A volume with <paramref name="changed"/> rewritten between s0 and s1; filled with data at s0 when
    /// <paramref name="full"/>, else sparse (only the changed chunks ever written).</summary>
    private static void Build(string volDir, long size, bool full, long[] changed)
    {
        using var storage = new SetupStorage(volDir);
        using (Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = size, Name = "memory-bench" }))
        {
            byte[] buffer = new byte[MiB];
            if (full)
            {
                for (long off = 0; off < size; off += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, size - off);
                    for (int k = 0; k < n; k += ChunkSize)
                    {
                        StreamFixture.FillChunk(buffer.AsSpan(k, ChunkSize), (off + k) / ChunkSize, 0);
                    }
                    volume.Write(off, buffer.AsSpan(0, n));
                }
            }
            volume.CreateSnapshot("s0");
            foreach (long ch in changed)
            {
                StreamFixture.FillChunk(buffer.AsSpan(0, ChunkSize), ch, 1);
                volume.Write(ch * ChunkSize, buffer.AsSpan(0, ChunkSize));
            }
            volume.CreateSnapshot("s1");
            storage.Durable = true;
        }
    }

    private static MemoryProbe? RunChild(string volDir, string outPath, string warmDir)
    {
        string? line = MachineProbe.RunChildProbe(new[] { "--probe-export", volDir, "s0", "s1", outPath, warmDir });
        return line == null ? null : MemoryProbe.Parse(line);
    }
}
