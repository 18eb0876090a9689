using System.Diagnostics;
using SnapshotTools.Engine;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>Write throughput of <see cref="Volume.Write"/> against plain file writes of the same sizes, same file system.</summary>
internal static class Throughput
{
    /// <summary>Times and results of one kind of pass, one entry per repetition.</summary>
    internal sealed class Series
    {
        public List<double> Write { get; } = new();
        public List<double> Flush { get; } = new();
        public List<double> Total { get; } = new();
        public long Bytes { get; set; }

        public void Add((double Write, double Flush) t)
        {
            Write.Add(t.Write);
            Flush.Add(t.Flush);
            Total.Add(t.Write + t.Flush);
        }

        public double MiBps(bool withFlush) => Bytes / (double)MiB / Stats.Median(withFlush ? Total : Write);
    }

    public static byte[] RandomBuffer(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Writes [0, region) in <paramref name="io"/>-byte writes every <paramref name="stride"/> bytes, then flushes.</summary>
    public static (double Write, double Flush) Pass(WriteFn write, Action flush, long region, byte[] buffer, int io, long stride)
    {
        ReadOnlySpan<byte> data = buffer.AsSpan(0, io);
        long t0 = Stopwatch.GetTimestamp();
        for (long off = 0; off + io <= region; off += stride)
        {
            write(off, data);
        }
        long t1 = Stopwatch.GetTimestamp();
        flush();
        long t2 = Stopwatch.GetTimestamp();
        return (Stats.Seconds(t0, t1), Stats.Seconds(t1, t2));
    }

    /// <summary>One paired repetition: engine first in even repetitions, plain first in odd ones.</summary>
    private static void PairedPass(int r, Series engine, Func<(double, double)> engineRun, Series plain, Func<(double, double)> plainRun)
    {
        if (r % 2 == 0)
        {
            engine.Add(engineRun());
            plain.Add(plainRun());
        }
        else
        {
            plain.Add(plainRun());
            engine.Add(engineRun());
        }
    }

    public static long BytesOf(long region, int io, long stride) => ((region - io) / stride + 1) * io;

    /// <summary>Median over repetitions of plain time / engine time, i.e. engine throughput / plain throughput.</summary>
    public static double Ratio(Series engine, Series plain, bool withFlush)
    {
        List<double> e = withFlush ? engine.Total : engine.Write;
        List<double> p = withFlush ? plain.Total : plain.Write;
        var ratios = new List<double>();
        for (int i = 0; i < Math.Min(e.Count, p.Count); i++)
        {
            ratios.Add(p[i] / e[i]);
        }
        return Stats.Median(ratios);
    }

    public static void Print(string label, Series s)
    {
        Console.WriteLine($"    {label,-34} write s: {Stats.List(s.Write, "F3")} | flush s: {Stats.List(s.Flush, "F3")}");
    }

    private static string Met(double ratio, double goal) => ratio >= goal ? "yes" : "**no**";

    /// <summary>Goal 1: steady state (every chunk already written, no snapshot), 1 MiB writes.</summary>
    public static void Steady(Config c, Report report)
    {
        Console.WriteLine($"[1] Steady-state writes: {Bytes(c.Region)} region, 1 MiB writes, 64 KiB chunks, no snapshot, {c.RepsSteady} reps");
        string dir = Path.Combine(c.Root, "steady");
        Directory.CreateDirectory(dir);
        byte[] buffer = RandomBuffer((int)MiB, 1);
        const int io = (int)MiB;
        var engine = new Series { Bytes = BytesOf(c.Region, io, io) };
        var plain = new Series { Bytes = engine.Bytes };
        var big = new Series { Bytes = engine.Bytes };
        using (Volume volume = Volume.Create(Path.Combine(dir, "vol"), new VolumeCreateOptions { Size = c.Region }))
        using (Volume bigVolume = Volume.Create(Path.Combine(dir, "vol-1tib"), new VolumeCreateOptions { Size = TiB }))
        using (PlainFile file = PlainFile.CreatePreallocated(Path.Combine(dir, "plain.dat"), c.Region, buffer))
        {
            // Warm-up: the first pass allocates every chunk of the live file (and JITs the path); not timed.
            Pass(volume.Write, volume.Flush, c.Region, buffer, io, io);
            Pass(bigVolume.Write, bigVolume.Flush, c.Region, buffer, io, io);
            Pass(file.Write, file.Flush, c.Region, buffer, io, io);
            var passes = new (Series Into, WriteFn Write, Action Flush)[]
            {
                (engine, volume.Write, volume.Flush),
                (plain, file.Write, file.Flush),
                (big, bigVolume.Write, bigVolume.Flush),
            };
            for (int r = 0; r < c.RepsSteady; r++)
            {
                // Rotate the order so drift on the shared machine hits every side alike.
                for (int k = 0; k < passes.Length; k++)
                {
                    var p = passes[(r + k) % passes.Length];
                    p.Into.Add(Pass(p.Write, p.Flush, c.Region, buffer, io, io));
                }
            }
        }
        Directory.Delete(dir, recursive: true);
        Print("Volume.Write", engine);
        Print("RandomAccess.Write", plain);
        Print("Volume.Write (1 TiB volume)", big);
        double withFlush = Ratio(engine, plain, withFlush: true);
        double noFlush = Ratio(engine, plain, withFlush: false);
        report.Add(new Row("1. Steady-state write, 1 MiB, incl. final Flush", $"{engine.MiBps(true):F0} MiB/s", $"{plain.MiBps(true):F0} MiB/s",
            $"{withFlush:F2}", ">= 0.9", Met(withFlush, 0.9),
            $"final flush {Stats.Median(engine.Flush) * 1000:F1} ms (Volume.Flush: live fsync + metadata) vs {Stats.Median(plain.Flush) * 1000:F1} ms (fsync)"));
        report.Add(new Row("1b. Same, write loop only (Flush excluded in both)", $"{engine.MiBps(false):F0} MiB/s", $"{plain.MiBps(false):F0} MiB/s",
            $"{noFlush:F2}", "(info)", "", ""));
        double bigRatio = Ratio(big, plain, true);
        report.Add(new Row($"1e. Same {Bytes(c.Region)} written on a 1 TiB sparse volume, incl. final Flush", $"{big.MiBps(true):F0} MiB/s", $"{plain.MiBps(true):F0} MiB/s",
            $"{bigRatio:F2}", "(info)", bigRatio >= 0.9 ? "yes" : "**no**",
            $"write loop only: ratio {Ratio(big, plain, false):F2}; final flush {Stats.Median(big.Flush) * 1000:F1} ms: Volume.Flush rewrites the 4 MiB of in-use bitmaps a 1 TiB volume has"));
    }

    /// <summary>Goal 2: the first write after a snapshot (every chunk copy-on-write), 1 MiB writes; and steady state with the snapshot present.</summary>
    public static void CopyOnWrite(Config c, Report report)
    {
        Console.WriteLine($"[2] First write after a snapshot (copy-on-write of every chunk): {Bytes(c.Region)} region, 1 MiB writes, {c.RepsCow} reps");
        string dir = Path.Combine(c.Root, "cow");
        Directory.CreateDirectory(dir);
        byte[] buffer = RandomBuffer((int)MiB, 2);
        const int io = (int)MiB;
        var cow = new Series { Bytes = BytesOf(c.Region, io, io) };
        var plainA = new Series { Bytes = cow.Bytes };
        var steadySnap = new Series { Bytes = cow.Bytes };
        var plainB = new Series { Bytes = cow.Bytes };
        var cowNew = new Series { Bytes = cow.Bytes };
        var plainC = new Series { Bytes = cow.Bytes };
        using (Volume volume = Volume.Create(Path.Combine(dir, "vol"), new VolumeCreateOptions { Size = c.Region }))
        using (PlainFile file = PlainFile.CreatePreallocated(Path.Combine(dir, "plain.dat"), c.Region, buffer))
        {
            Pass(volume.Write, volume.Flush, c.Region, buffer, io, io);
            Pass(file.Write, file.Flush, c.Region, buffer, io, io);
            // JIT the copy-on-write path once on a throw-away snapshot.
            volume.CreateSnapshot("warm-up");
            Pass(volume.Write, volume.Flush, Math.Min(c.Region, 16 * MiB), buffer, io, io);
            volume.DeleteSnapshot("warm-up");
            for (int r = 0; r < c.RepsCow; r++)
            {
                volume.CreateSnapshot($"rep-{r}");
                if (r % 2 == 0)
                {
                    cow.Add(Pass(volume.Write, volume.Flush, c.Region, buffer, io, io));
                    plainA.Add(Pass(file.Write, file.Flush, c.Region, buffer, io, io));
                    steadySnap.Add(Pass(volume.Write, volume.Flush, c.Region, buffer, io, io));
                    plainB.Add(Pass(file.Write, file.Flush, c.Region, buffer, io, io));
                }
                else
                {
                    plainA.Add(Pass(file.Write, file.Flush, c.Region, buffer, io, io));
                    cow.Add(Pass(volume.Write, volume.Flush, c.Region, buffer, io, io));
                    plainB.Add(Pass(file.Write, file.Flush, c.Region, buffer, io, io));
                    steadySnap.Add(Pass(volume.Write, volume.Flush, c.Region, buffer, io, io));
                }
                // Not timed: the snapshot is the only one, so deleting it just drops its files. The next store then
                // lands on blocks just freed (the rotation pattern: delete the oldest, take a new one).
                volume.DeleteSnapshot($"rep-{r}");
            }
            // 2f: the same, but no snapshot is deleted, so each new store lands on disk space not written lately.
            for (int r = 0; r < Math.Min(3, c.RepsCow); r++)
            {
                volume.CreateSnapshot($"keep-{r}");
                PairedPass(r, cowNew, () => Pass(volume.Write, volume.Flush, c.Region, buffer, io, io),
                    plainC, () => Pass(file.Write, file.Flush, c.Region, buffer, io, io));
            }
        }
        // What the disk charges for new space: a new file of the region's size written and fsynced, on space not
        // written lately, then again right after deleting it (on the blocks just freed), against the plain overwrite.
        (double keptNew, double reusedNew, double overwrite) = NewSpaceProbe(dir, c.Region, buffer, io);
        Directory.Delete(dir, recursive: true);
        Print("Volume.Write, first after snapshot", cow);
        Print("RandomAccess.Write", plainA);
        Print("Volume.Write, snapshot present", steadySnap);
        Print("RandomAccess.Write", plainB);
        Print("2f Volume.Write, store on new space", cowNew);
        Print("2f RandomAccess.Write", plainC);
        double r1 = Ratio(cow, plainA, true);
        double r1b = Ratio(cow, plainA, false);
        double r2 = Ratio(steadySnap, plainB, true);
        double perBatchMs = Stats.Median(cow.Write) * 1000 / (c.Region / MiB);
        report.Add(new Row("2. First write after snapshot (CoW every chunk), 1 MiB, incl. final Flush", $"{cow.MiBps(true):F0} MiB/s", $"{plainA.MiBps(true):F0} MiB/s",
            $"{r1:F2}", ">= 0.3", Met(r1, 0.3), $"write loop only: ratio {r1b:F2} ({cow.MiBps(false):F0} vs {plainA.MiBps(false):F0} MiB/s); {perBatchMs:F2} ms per 1 MiB Volume.Write (16 chunks copied; stores synced in the background once per half window)"));
        report.Add(new Row("2b. Steady state with a snapshot present (chunks already preserved), 1 MiB, incl. Flush", $"{steadySnap.MiBps(true):F0} MiB/s", $"{plainB.MiBps(true):F0} MiB/s",
            $"{r2:F2}", "(info; goal 1 applies)", r2 >= 0.9 ? "yes" : "**no**", ""));
        double r3 = Ratio(cowNew, plainC, true);
        report.Add(new Row("2f. First write after snapshot, 1 MiB, incl. final Flush, no snapshot deleted before (each store on disk space not written lately)", $"{cowNew.MiBps(true):F0} MiB/s", $"{plainC.MiBps(true):F0} MiB/s",
            $"{r3:F2}", "(info)", "", $"the disk itself, {Bytes(c.Region)} written into a new file + fsync: {keptNew:F2} s on space not written lately, {reusedNew:F2} s on the blocks of a file just deleted, vs {overwrite:F2} s overwriting the plain file"));
    }

    /// <summary>Times a new file of <paramref name="region"/> bytes written and fsynced: on space not written lately, then on the blocks just freed by deleting it; and the plain overwrite.</summary>
    private static (double Kept, double Reused, double Overwrite) NewSpaceProbe(string dir, long region, byte[] buffer, int io)
    {
        double Write(string path)
        {
            using PlainFile f = PlainFile.CreateEmpty(path);
            long t0 = Stopwatch.GetTimestamp();
            for (long off = 0; off + io <= region; off += io)
            {
                f.Write(off, buffer.AsSpan(0, io));
            }
            f.Flush();
            return Stats.Seconds(t0, Stopwatch.GetTimestamp());
        }
        string a = Path.Combine(dir, "new-a.dat");
        string b = Path.Combine(dir, "new-b.dat");
        double kept = Math.Min(Write(a), Write(b));
        File.Delete(a);
        double reused = Write(a);
        File.Delete(a);
        File.Delete(b);
        using PlainFile plain = PlainFile.CreatePreallocated(Path.Combine(dir, "plain.dat"), region, buffer);
        long t = Stopwatch.GetTimestamp();
        for (long off = 0; off + io <= region; off += io)
        {
            plain.Write(off, buffer.AsSpan(0, io));
        }
        plain.Flush();
        double overwrite = Stats.Seconds(t, Stopwatch.GetTimestamp());
        return (kept, reused, overwrite);
    }

    /// <summary>Small writes, for information: copy-on-write at 4 KiB and 64 KiB, and steady state at the same sizes.</summary>
    public static void SmallWrites(Config c, Report report)
    {
        Console.WriteLine($"[2s] Small writes: {Bytes(c.SmallRegion)} region, 64 KiB chunks, {c.RepsSmall} reps");
        string dir = Path.Combine(c.Root, "small");
        Directory.CreateDirectory(dir);
        byte[] buffer = RandomBuffer((int)MiB, 3);
        var cases = new (string Label, int Io, long Stride, bool Cow)[]
        {
            ("2c. First write after snapshot, 64 KiB writes (each copies one chunk)", (int)(64 * KiB), 64 * KiB, true),
            ("2d. First write after snapshot, 4 KiB sequential writes (1 in 16 copies a chunk)", (int)(4 * KiB), 4 * KiB, true),
            ("2e. First write after snapshot, one 4 KiB write per chunk (every write copies 64 KiB)", (int)(4 * KiB), 64 * KiB, true),
            ("1c. Steady state, 64 KiB writes", (int)(64 * KiB), 64 * KiB, false),
            ("1d. Steady state, 4 KiB writes", (int)(4 * KiB), 4 * KiB, false),
        };
        using (Volume volume = Volume.Create(Path.Combine(dir, "vol"), new VolumeCreateOptions { Size = c.SmallRegion }))
        using (PlainFile file = PlainFile.CreatePreallocated(Path.Combine(dir, "plain.dat"), c.SmallRegion, buffer))
        {
            Pass(volume.Write, volume.Flush, c.SmallRegion, buffer, (int)MiB, MiB);
            foreach ((string label, int io, long stride, bool isCow) in cases)
            {
                var engine = new Series { Bytes = BytesOf(c.SmallRegion, io, stride) };
                var plain = new Series { Bytes = engine.Bytes };
                // JIT warm-up of this shape on both sides.
                Pass(file.Write, file.Flush, Math.Min(c.SmallRegion, MiB), buffer, io, stride);
                if (isCow)
                {
                    volume.CreateSnapshot("warm-up");
                }
                Pass(volume.Write, volume.Flush, Math.Min(c.SmallRegion, MiB), buffer, io, stride);
                if (isCow)
                {
                    volume.DeleteSnapshot("warm-up");
                }
                for (int r = 0; r < c.RepsSmall; r++)
                {
                    if (isCow)
                    {
                        volume.CreateSnapshot($"rep-{r}");
                    }
                    PairedPass(r, engine, () => Pass(volume.Write, volume.Flush, c.SmallRegion, buffer, io, stride),
                        plain, () => Pass(file.Write, file.Flush, c.SmallRegion, buffer, io, stride));
                    if (isCow)
                    {
                        volume.DeleteSnapshot($"rep-{r}");
                    }
                }
                Print(label.Split('.')[0] + " Volume.Write", engine);
                Print(label.Split('.')[0] + " RandomAccess.Write", plain);
                double ratio = Ratio(engine, plain, true);
                double loopRatio = Ratio(engine, plain, false);
                long writes = (c.SmallRegion - io) / stride + 1;
                double usPerWrite = Stats.Median(engine.Write) * 1e6 / writes;
                double usPerWritePlain = Stats.Median(plain.Write) * 1e6 / writes;
                report.Add(new Row(label + ", incl. final Flush", $"{engine.MiBps(true):F0} MiB/s", $"{plain.MiBps(true):F0} MiB/s", $"{ratio:F3}",
                    isCow ? "(info)" : "(info; goal 1 is for 1 MiB)", "",
                    $"{usPerWrite:F1} µs per Volume.Write vs {usPerWritePlain:F1} µs per plain write; write loop only: ratio {loopRatio:F3}; " +
                    $"final flush {Stats.Median(engine.Flush) * 1000:F1} ms (Volume.Flush) vs {Stats.Median(plain.Flush) * 1000:F1} ms (fsync)"));
            }
        }
        Directory.Delete(dir, recursive: true);
    }
}
