using System.Diagnostics;
using System.Globalization;
using SnapshotTools.Engine;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// Goals 3 and 4: the differential of a large sparse volume with 1% of its chunks changed across 10 snapshots, and the
/// memory the maps of that volume hold once it is opened.
/// </summary>
internal static class DeltaBench
{
    private const int ChunkSize = 64 * 1024;
    private const int Snapshots = 10;
    private const long ManyVolume = 64 * GiB;

    public static void Run(Config c, Report report)
    {
        long volumeSize = c.DeltaVolume;
        string dir = Path.Combine(c.Root, "delta");
        Directory.CreateDirectory(dir);
        // Each changed chunk that was never written costs a full chunk in the live file (the engine writes an unused
        // chunk whole), so the set-up needs 1% of the volume on disk. Scale down if that does not fit.
        long available = new DriveInfo(dir).AvailableFreeSpace;
        long requested = volumeSize;
        while (volumeSize > 16 * GiB && Need(volumeSize) > available - 2 * GiB)
        {
            volumeSize /= 2;
        }
        if (volumeSize != requested)
        {
            report.Note($"SCALED DOWN: the differential/memory volume is {Bytes(volumeSize)}, not {Bytes(requested)}: the set-up needs " +
                $"{Bytes(Need(requested))} free and {Bytes(available)} is available; per-TiB figures are scaled linearly.");
        }
        long chunks = volumeSize / ChunkSize;
        long changed = chunks / 100;
        Console.WriteLine($"[3] Differential: {Bytes(volumeSize)} sparse volume, {chunks:N0} chunks of 64 KiB, {changed:N0} (1%) changed across {Snapshots} snapshots, {c.DeltaReps} reps");

        // Distinct random chunks, split into one group per interval (after s1 .. after s10).
        var rng = new Random(20261122);
        var taken = new System.Collections.BitArray(checked((int)chunks));
        var picked = new long[changed];
        for (long i = 0; i < changed;)
        {
            long ch = rng.NextInt64(chunks);
            if (!taken[(int)ch])
            {
                taken[(int)ch] = true;
                picked[i++] = ch;
            }
        }
        taken = null!;
        var groups = new long[Snapshots][];
        for (int g = 0; g < Snapshots; g++)
        {
            long a = changed * g / Snapshots;
            long b = changed * (g + 1) / Snapshots;
            groups[g] = picked[(int)a..(int)b];
            Array.Sort(groups[g]);
        }

        string volDir = Path.Combine(dir, "vol");
        string warmDir = Path.Combine(dir, "warm");
        try
        {
            Setup(volDir, volumeSize, groups, report);
            using (Volume warm = Volume.Create(warmDir, new VolumeCreateOptions { Size = 64 * MiB }))
            {
                warm.Write(0, new byte[4096]);
                warm.CreateSnapshot("a");
                warm.Write(0, new byte[4096]);
            }
            Memory(c, volDir, warmDir, volumeSize, changed, report);
            Delta(c, volDir, volumeSize, changed, report);
            Directory.Delete(volDir, recursive: true);
            WorstCase(Path.Combine(dir, "worst"), warmDir, volumeSize, report);
            ManyFullSnapshots(Path.Combine(dir, "many"), warmDir, Math.Min(ManyVolume, volumeSize), report);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Need(long volumeSize) => volumeSize / ChunkSize / 100 * ChunkSize * 11 / 10;

    private static void Setup(string volDir, long volumeSize, long[][] groups, Report report)
    {
        byte[] data = Throughput.RandomBuffer(4096, 5);
        var storage = new SetupStorage(volDir);
        long t0 = Stopwatch.GetTimestamp();
        Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = volumeSize, Name = "delta-bench" });
        long writes = 0;
        for (int g = 0; g < groups.Length; g++)
        {
            volume.CreateSnapshot($"s{g + 1}");
            foreach (long ch in groups[g])
            {
                // 4 KiB into each changed chunk; the engine tracks (and copies on write) whole chunks.
                volume.Write(ch * ChunkSize + 8192, data);
                writes++;
            }
        }
        long t1 = Stopwatch.GetTimestamp();
        storage.Durable = true;
        volume.Dispose(); // real fsyncs of everything written, and a clean shutdown
        long t2 = Stopwatch.GetTimestamp();
        string du = DiskUsage(volDir);
        report.Note($"Differential set-up: {writes:N0} Volume.Write calls of 4 KiB (one per changed chunk) after 10 CreateSnapshot calls took " +
            $"{Stats.Seconds(t0, t1):F1} s with the engine's fsyncs skipped ({storage.SkippedFlushes:N0} skipped; file contents identical), " +
            $"then {Stats.Seconds(t1, t2):F1} s to close the volume with real fsyncs. Store on disk: {du}. " +
            "Each 4 KiB write into a never-written chunk writes the whole 64 KiB chunk to the live file (the engine zero-fills unused chunks).");
    }

    private static string DiskUsage(string path)
    {
        try
        {
            var psi = new ProcessStartInfo("du", new[] { "-sh", "--apparent-size", path }) { RedirectStandardOutput = true };
            using Process? p = Process.Start(psi);
            string apparent = p!.StandardOutput.ReadToEnd().Split('\t')[0];
            p.WaitForExit();
            var psi2 = new ProcessStartInfo("du", new[] { "-sh", path }) { RedirectStandardOutput = true };
            using Process? q = Process.Start(psi2);
            string used = q!.StandardOutput.ReadToEnd().Split('\t')[0];
            q.WaitForExit();
            return $"{used} allocated ({apparent} apparent, sparse)";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "(du not available)";
        }
    }

    /// <summary>Goal 4: memory held after Volume.Open, in a fresh child process (clean working set) and in this one.</summary>
    private static void Memory(Config c, string volDir, string warmDir, long volumeSize, long changed, Report report)
    {
        Console.WriteLine($"[4] Memory of the maps: Volume.Open of the {Bytes(volumeSize)} volume with {Snapshots} snapshots");
        double perTiB = TiB / (double)volumeSize;
        long bitmapBytes = 2 * ((volumeSize / ChunkSize + 63) / 64) * 8;
        Probe? child = RunChildProbe(volDir, warmDir);
        Probe inProc = ProbeOpen(volDir, warmDir);
        Console.WriteLine($"    in-process: {inProc}");
        Probe p = child ?? inProc;
        if (child != null)
        {
            Console.WriteLine($"    child:      {child}");
        }
        else
        {
            report.Note("The child-process memory probe failed; the figures are from the benchmark process itself.");
        }
        double gcMiB = (p.GcAfter - p.GcBefore) / (double)MiB;
        double wsMiB = (p.WsAfter - p.WsBefore) / (double)MiB;
        double gcPerTiB = gcMiB * perTiB;
        double wsPerTiB = wsMiB * perTiB;
        double perRecord = (p.GcAfter - p.GcBefore - bitmapBytes) / (double)changed;
        if (volumeSize < TiB)
        {
            report.Note($"Memory on a {Bytes(volumeSize)} volume: the working-set figure per TiB is dominated by fixed one-time costs " +
                "scaled up by the small size; only the GC-heap figure scales. Use the full run for per-TiB numbers.");
        }
        report.Add(new Row($"4. Map memory after Volume.Open ({Bytes(volumeSize)}, 1% changed, 10 snapshots), MiB per TiB",
            $"{gcPerTiB:F1} MiB/TiB (GC heap); {wsPerTiB:F1} MiB/TiB (working set)", "-", "-", "< 64 MiB/TiB", gcPerTiB < 64 ? "yes" : "**no**",
            $"{(child != null ? "fresh child process" : "this process")}: GC heap +{gcMiB:F1} MiB, working set +{wsMiB:F1} MiB, Open took {p.OpenMs:F0} ms " +
            $"(in this process: GC heap +{(inProc.GcAfter - inProc.GcBefore) / (double)MiB:F1} MiB). Of the GC heap, {bitmapBytes / (double)MiB:F1} MiB are the " +
            $"in-use bitmaps (data + zero, 2 bits per chunk); the rest is {perRecord:F0} bytes per preserved chunk record " +
            "(the 9 older snapshots' frozen indexes: sorted arrays of 2-byte low bits; the newest's ChunkKindIndex: a hash table of 8-byte slots while sparse); " +
            "see 4b and 4c for the worst cases."));
    }

    internal sealed record Probe(long GcBefore, long GcAfter, long WsBefore, long WsAfter, double OpenMs)
    {
        public override string ToString() =>
            $"GC heap {GcBefore / (double)MiB:F1} -> {GcAfter / (double)MiB:F1} MiB, working set {WsBefore / (double)MiB:F1} -> {WsAfter / (double)MiB:F1} MiB, Open {OpenMs:F0} ms";

        public string Serialize() => string.Join(" ", new[] { GcBefore, GcAfter, WsBefore, WsAfter }.Select(x => x.ToString(CultureInfo.InvariantCulture)))
            + " " + OpenMs.ToString("R", CultureInfo.InvariantCulture);

        public static Probe Parse(string line)
        {
            string[] f = line.Split(' ');
            return new Probe(long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Opens the volume and measures the GC heap and working set before and after (the volume stays open while measured).</summary>
    public static Probe ProbeOpen(string volDir, string warmDir)
    {
        // Warm the Open path (JIT, type loading) on a small volume so its one-time cost is not counted.
        using (Volume.Open(warmDir))
        {
        }
        using Process self = Process.GetCurrentProcess();
        MachineProbe.CollectGarbage();
        long gcBefore = GC.GetTotalMemory(forceFullCollection: true);
        self.Refresh();
        long wsBefore = self.WorkingSet64;
        long t0 = Stopwatch.GetTimestamp();
        Volume volume = Volume.Open(volDir);
        long t1 = Stopwatch.GetTimestamp();
        MachineProbe.CollectGarbage();
        long gcAfter = GC.GetTotalMemory(forceFullCollection: true);
        self.Refresh();
        long wsAfter = self.WorkingSet64;
        GC.KeepAlive(volume);
        volume.Dispose();
        return new Probe(gcBefore, gcAfter, wsBefore, wsAfter, Stats.Seconds(t0, t1) * 1000);
    }

    private static Probe? RunChildProbe(string volDir, string warmDir)
    {
        string? line = MachineProbe.RunChildProbe(new[] { "--probe-open", volDir, warmDir });
        return line == null ? null : Probe.Parse(line);
    }

    /// <summary>Goal 3: GetDelta plus a full enumeration of the extents (no data read).</summary>
    private static void Delta(Config c, string volDir, long volumeSize, long changed, Report report)
    {
        using Volume volume = Volume.Open(volDir);
        var toLive = new List<(double Get, double Enum)>();
        var toS10 = new List<(double Get, double Enum)>();
        (double Get, double Enum, long Chunks, long Extents, long Bytes) first = default;
        long extentsLive = 0, extentsS10 = 0, chunksLive = 0, chunksS10 = 0;
        for (int r = 0; r <= c.DeltaReps; r++)
        {
            var a = TimeDelta(volume, "s1", null);
            var b = TimeDelta(volume, "s1", "s10");
            if (r == 0)
            {
                first = a; // the cold run: first call after Open, JIT included
                continue;
            }
            toLive.Add((a.Get, a.Enum));
            toS10.Add((b.Get, b.Enum));
            extentsLive = a.Extents;
            chunksLive = a.Chunks;
            extentsS10 = b.Extents;
            chunksS10 = b.Chunks;
        }
        var flushes = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            long f0 = Stopwatch.GetTimestamp();
            volume.Flush();
            flushes.Add(Stats.Seconds(f0, Stopwatch.GetTimestamp()) * 1000);
        }
        long metaBytes = new FileInfo(Path.Combine(volDir, "volume.meta.0")).Length;
        report.Note($"Volume.Flush of this idle {Bytes(volumeSize)} volume (nothing written) takes {Stats.Median(flushes):F1} ms (median of 5): every Flush " +
            $"rewrites and fsyncs the whole metadata copy ({metaBytes / (double)MiB:F1} MiB: both in-use bitmaps) and fsyncs all {Snapshots} preservation stores; CreateSnapshot does the same.");
        if (chunksLive != changed)
        {
            report.Note($"WARNING: the differential s1 -> live reports {chunksLive} changed chunks; {changed} were changed.");
        }
        double liveMs = Stats.Median(toLive.Select(x => (x.Get + x.Enum) * 1000).ToList());
        double liveGet = Stats.Median(toLive.Select(x => x.Get * 1000).ToList());
        double liveEnum = Stats.Median(toLive.Select(x => x.Enum * 1000).ToList());
        double s10Ms = Stats.Median(toS10.Select(x => (x.Get + x.Enum) * 1000).ToList());
        Console.WriteLine($"    s1 -> live, ms per rep: {Stats.List(toLive.Select(x => (x.Get + x.Enum) * 1000), "F1")}");
        Console.WriteLine($"    s1 -> s10,  ms per rep: {Stats.List(toS10.Select(x => (x.Get + x.Enum) * 1000), "F1")}");
        string scale = volumeSize == TiB ? "" : $" (volume is {Bytes(volumeSize)}, not 1 TiB)";
        report.Add(new Row($"3. Differential s1 -> live of a {Bytes(volumeSize)} volume, 1% of chunks changed over 10 snapshots: GetDelta + enumerate extents{scale}",
            $"{liveMs:F1} ms", "-", "-", "< 50 ms", liveMs < 50 ? "yes" : "**no**",
            $"GetDelta {liveGet:F1} ms + enumeration {liveEnum:F1} ms (medians of {c.DeltaReps}); {chunksLive:N0} changed chunks, {extentsLive:N0} extents; " +
            $"first call after Open {(first.Get + first.Enum) * 1000:F1} ms"));
        report.Add(new Row($"3b. Differential s1 -> s10 (snapshot to snapshot, 9 intervals), same volume", $"{s10Ms:F1} ms", "-", "-", "(info)", "",
            $"{chunksS10:N0} changed chunks, {extentsS10:N0} extents"));
    }

    /// <summary>
    /// Goal 4, worst case: every chunk of the volume preserved once (one snapshot, then WriteZeroes over the whole volume:
    /// one real preservation record per chunk without data, so the set-up writes only the index).
    /// </summary>
    private static void WorstCase(string volDir, string warmDir, long volumeSize, Report report)
    {
        long chunks = volumeSize / ChunkSize;
        Console.WriteLine($"[4b] Memory, worst case: {Bytes(volumeSize)} volume, one snapshot, all {chunks:N0} chunks preserved once");
        var storage = new SetupStorage(volDir);
        long t0 = Stopwatch.GetTimestamp();
        using (Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = volumeSize, Name = "worst-case" }))
        {
            volume.CreateSnapshot("s1");
            volume.WriteZeroes(0, volumeSize);
            storage.Durable = true;
        }
        double setup = Stats.Seconds(t0, Stopwatch.GetTimestamp());
        double perTiB = TiB / (double)volumeSize;
        long bitmapBytes = 2 * ((chunks + 63) / 64) * 8;
        Probe? child = RunChildProbe(volDir, warmDir);
        Probe p = child ?? ProbeOpen(volDir, warmDir);
        Console.WriteLine($"    {(child != null ? "child" : "in-process")}: {p}");
        double gcPerTiB = (p.GcAfter - p.GcBefore) / (double)MiB * perTiB;
        double wsPerTiB = (p.WsAfter - p.WsBefore) / (double)MiB * perTiB;
        double perRecord = (p.GcAfter - p.GcBefore - bitmapBytes) / (double)chunks;
        report.Add(new Row($"4b. Map memory, worst case: every chunk of a {Bytes(volumeSize)} volume preserved once (1 snapshot), MiB per TiB",
            $"{gcPerTiB:F0} MiB/TiB (GC heap); {wsPerTiB:F0} MiB/TiB (working set)", "-", "-", "< 64 MiB/TiB", gcPerTiB < 64 ? "yes" : "**no**",
            $"{perRecord:F1} bytes per preserved chunk beyond the bitmaps (dense ChunkKindIndex: 3 bits a chunk = 0.4 bytes); Open took {p.OpenMs / 1000:F1} s (it reads and checks every record); " +
            $"set-up (WriteZeroes over the volume, fsyncs skipped until the close) {setup:F1} s"));
        Directory.Delete(volDir, recursive: true);
    }

    /// <summary>
    /// Goal 4 with a long retention of busy intervals: 10 snapshots whose intervals each preserved every chunk. Set up
    /// without data I/O: after each snapshot, WriteZeroes (even) or Discard (odd) over the whole volume, so every chunk
    /// gets one record without data per snapshot (unmapped, then zero, ...). On a smaller volume, scaled linearly.
    /// </summary>
    private static void ManyFullSnapshots(string volDir, string warmDir, long volumeSize, Report report)
    {
        long chunks = volumeSize / ChunkSize;
        Console.WriteLine($"[4c] Memory, {Snapshots} snapshots each with all {chunks:N0} chunks of a {Bytes(volumeSize)} volume preserved");
        var storage = new SetupStorage(volDir);
        long t0 = Stopwatch.GetTimestamp();
        using (Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = volumeSize, Name = "many-full" }))
        {
            for (int s = 0; s < Snapshots; s++)
            {
                volume.CreateSnapshot($"s{s + 1}");
                if (s % 2 == 0)
                {
                    volume.WriteZeroes(0, volumeSize);
                }
                else
                {
                    volume.Discard(0, volumeSize);
                }
            }
            storage.Durable = true;
        }
        double setup = Stats.Seconds(t0, Stopwatch.GetTimestamp());
        double perTiB = TiB / (double)volumeSize;
        long bitmapBytes = 2 * ((chunks + 63) / 64) * 8;
        Probe? child = RunChildProbe(volDir, warmDir);
        Probe p = child ?? ProbeOpen(volDir, warmDir);
        Console.WriteLine($"    {(child != null ? "child" : "in-process")}: {p}");
        double gcMiB = (p.GcAfter - p.GcBefore) / (double)MiB;
        double gcPerTiB = gcMiB * perTiB;
        double wsPerTiB = (p.WsAfter - p.WsBefore) / (double)MiB * perTiB;
        double perChunk = (p.GcAfter - p.GcBefore - bitmapBytes) / (double)chunks / Snapshots;
        string scale = volumeSize == TiB ? "" : $"; measured on {Bytes(volumeSize)}, scaled x{perTiB:F0} to a TiB";
        report.Add(new Row($"4c. Map memory after Volume.Open, {Snapshots} snapshots whose intervals each preserved every chunk, MiB per TiB{scale}",
            $"{gcPerTiB:F1} MiB/TiB (GC heap); {wsPerTiB:F0} MiB/TiB (working set)", "-", "-", "< 64 MiB/TiB", gcPerTiB < 64 ? "yes" : "**no**",
            $"GC heap +{gcMiB:F1} MiB: {bitmapBytes / (double)MiB:F1} MiB of in-use bitmaps, then {perChunk:F3} bytes per chunk per snapshot " +
            $"(9 frozen indexes: about 1 bit a chunk, one kind per container; the newest's mutable dense index: 3 bits a chunk); " +
            $"Open took {p.OpenMs / 1000:F1} s ({Snapshots * chunks:N0} records read and checked); set-up ({Snapshots} x WriteZeroes or Discard over the volume, fsyncs skipped until the close) {setup:F1} s"));
        Directory.Delete(volDir, recursive: true);
    }

    private static (double Get, double Enum, long Chunks, long Extents, long Bytes) TimeDelta(Volume volume, string from, string? to)
    {
        long t0 = Stopwatch.GetTimestamp();
        VolumeDelta delta = volume.GetDelta(from, to);
        long t1 = Stopwatch.GetTimestamp();
        long extents = 0;
        long bytes = 0;
        foreach (DeltaExtent e in delta)
        {
            extents++;
            bytes += e.Length;
        }
        long t2 = Stopwatch.GetTimestamp();
        return (Stats.Seconds(t0, t1), Stats.Seconds(t1, t2), delta.ChangedChunks, extents, bytes);
    }
}
