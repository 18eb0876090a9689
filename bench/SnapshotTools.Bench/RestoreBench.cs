using System.Diagnostics;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Streams;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// Issue 3, goal 3: restore of the newest point of a chain (a full backup and 10 incrementals of 1% each) from a
/// <see cref="BackupRepository"/> into a raw image, against a plain copy of the image (<c>cp --sparse=always</c>, then
/// fsync of the copy, since the restore fsyncs too).
/// </summary>
internal static class RestoreBench
{
    private const int Incrementals = 10;

    public static void Run(Config c, Report report)
    {
        StreamFixture f = StreamFixture.Get(c, report);
        f.DropBase(); // not needed here; make room
        bool cold = c.Cold && PageCache.CanDrop;
        string dir = Path.Combine(f.Dir, "restore");
        string repoDir = Path.Combine(dir, "repo");
        Directory.CreateDirectory(dir);
        Console.WriteLine($"[S3] Restore of a full + {Incrementals} incrementals of the {Size(f.Size)} volume vs cp --sparse=always of the image: " +
            $"{c.RepsRestore} warm reps{(cold ? $", {c.RepsRestoreCold} cold-cache reps" : "")}");
        try
        {
            (BackupInfo newest, double fullSeconds, IoCounters fullIo) = BuildChain(c, f, repoDir, cold, report);
            Measure(c, f, dir, repoDir, newest, cold, fullSeconds, fullIo, report);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (BackupInfo Newest, double FullSeconds, IoCounters FullIo) BuildChain(Config c, StreamFixture f, string repoDir, bool cold, Report report)
    {
        var options = new DeltaStreamOptions { Compression = StreamCompression.None };
        long chunks = f.Size / StreamFixture.ChunkSize;
        using Volume volume = Volume.Open(f.VolumeDir);
        using BackupRepository repo = BackupRepository.Open(repoDir, create: true);
        if (cold)
        {
            PageCache.Drop();
        }
        IoCounters io0 = IoCounters.Self();
        long t0 = Stopwatch.GetTimestamp();
        BackupInfo full = repo.Export(volume, null, "s1", options);
        double fullS = Stats.Seconds(t0, Stopwatch.GetTimestamp());
        IoCounters fullIo = IoCounters.Self() - io0;
        f.Pristine = false;
        BackupInfo last = full;
        double writeS = 0, exportS = 0;
        byte[] chunk = new byte[StreamFixture.ChunkSize];
        for (int i = 1; i <= Incrementals; i++)
        {
            long[] changed = StreamFixture.PickChunks(chunks, chunks / 100, 100 + i);
            long w0 = Stopwatch.GetTimestamp();
            foreach (long ch in changed)
            {
                StreamFixture.FillChunk(chunk, ch, 100 + i);
                volume.Write(ch * StreamFixture.ChunkSize, chunk);
            }
            f.WriteChanged(f.ImagePath, 100 + i, changed);
            volume.CreateSnapshot($"b{i}");
            long w1 = Stopwatch.GetTimestamp();
            last = repo.ExportNext(volume, $"b{i}", options);
            long w2 = Stopwatch.GetTimestamp();
            writeS += Stats.Seconds(w0, w1);
            exportS += Stats.Seconds(w1, w2);
            if (last.Kind != BackupKind.Incremental)
            {
                throw new InvalidOperationException($"backup {i} is {last.Kind}, expected an incremental");
            }
        }
        long streamBytes = repo.List().Sum(b => b.StreamBytes);
        report.Note($"S3 set-up: full backup of the {Size(f.Size)} volume (Compression None, {(cold ? "cold cache" : "warm cache")}) exported in {fullS:F1} s; " +
            $"then {Incrementals} rounds of 1% of the chunks rewritten (random, overlapping across rounds) + snapshot ({writeS:F1} s in all) + ExportNext ({exportS:F1} s in all, " +
            $"{exportS / Incrementals * 1000:F0} ms each); repository {Size(streamBytes)} of streams, chain of {repo.Chain(last.BackupId).Count}.");
        return (last, fullS, fullIo);
    }

    private static void Measure(Config c, StreamFixture f, string dir, string repoDir, BackupInfo newest, bool cold, double fullSeconds, IoCounters fullIo, Report report)
    {
        string restored = Path.Combine(dir, "restored.img");
        string copy = Path.Combine(dir, "copy.img");
        string[] streams = Directory.GetFiles(Path.Combine(repoDir, "streams"), "*.stdelta", SearchOption.AllDirectories);
        var engineWarm = new List<(double S, IoCounters Io)>();
        var engineCold = new List<(double S, IoCounters Io)>();
        var cpWarm = new List<ToolRun>();
        var cpCold = new List<ToolRun>();
        RestoreResult? result = null;
        bool verified = false;
        string cpCommand = $"cp --sparse=always image.raw {copy} && sync {copy}";
        foreach (bool isCold in cold ? new[] { false, true } : new[] { false })
        {
            int reps = isCold ? c.RepsRestoreCold : c.RepsRestore;
            for (int r = 0; r < reps; r++)
            {
                for (int k = 0; k < 2; k++)
                {
                    bool engineTurn = (k == 0) == (r % 2 == 0);
                    if (isCold)
                    {
                        PageCache.Drop();
                    }
                    if (engineTurn)
                    {
                        if (!isCold)
                        {
                            foreach (string stream in streams)
                            {
                                PageCache.Prime(stream);
                            }
                        }
                        using BackupRepository repo = BackupRepository.OpenReadOnly(repoDir);
                        IoCounters io0 = IoCounters.Self();
                        long t0 = Stopwatch.GetTimestamp();
                        result = repo.RestoreToImage(newest.BackupId, restored, overwrite: true);
                        double s = Stats.Seconds(t0, Stopwatch.GetTimestamp());
                        IoCounters io = IoCounters.Self() - io0;
                        (isCold ? engineCold : engineWarm).Add((s, io));
                        Console.WriteLine($"    restore rep {r + 1} ({(isCold ? "cold" : "warm")}): {s:F2} s, rchar {Size(io.RChar)}, read_bytes {Size(io.ReadBytes)}");
                        if (!verified)
                        {
                            long v0 = Stopwatch.GetTimestamp();
                            if (!SameBytes(restored, f.ImagePath))
                            {
                                throw new InvalidOperationException("the restored image differs from image.raw");
                            }
                            verified = true;
                            Console.WriteLine($"    restored image == image.raw (checked in {Stats.Seconds(v0, Stopwatch.GetTimestamp()):F1} s, not timed)");
                        }
                        File.Delete(restored);
                    }
                    else
                    {
                        if (!isCold)
                        {
                            PageCache.Prime(f.ImagePath);
                        }
                        ToolRun t = ExternalTool.Run("sh", new[] { "-c", cpCommand }, f.Dir);
                        (isCold ? cpCold : cpWarm).Add(t);
                        Console.WriteLine($"    cp rep {r + 1} ({(isCold ? "cold" : "warm")}): {t.Seconds:F2} s, rchar {Size(t.Io.RChar)}, read_bytes {Size(t.Io.ReadBytes)}");
                        File.Delete(copy);
                    }
                }
            }
        }
        foreach (bool isCold in new[] { false, true })
        {
            var e = isCold ? engineCold : engineWarm;
            var p = isCold ? cpCold : cpWarm;
            if (e.Count == 0)
            {
                continue;
            }
            var ratios = new List<double>();
            for (int i = 0; i < Math.Min(e.Count, p.Count); i++)
            {
                ratios.Add(p[i].Seconds / e[i].S);
            }
            double es = Stats.Median(e.Select(x => x.S).ToList());
            double ps = Stats.Median(p.Select(x => x.Seconds).ToList());
            double ratio = Stats.Median(ratios);
            long er = (long)Stats.Median(e.Select(x => (double)x.Io.RChar).ToList());
            long ed = (long)Stats.Median(e.Select(x => (double)x.Io.ReadBytes).ToList());
            long pr = (long)Stats.Median(p.Select(x => (double)x.Io.RChar).ToList());
            long pd = (long)Stats.Median(p.Select(x => (double)x.Io.ReadBytes).ToList());
            double mib = f.Size / (double)MiB;
            report.Add(new Row($"S3. Restore of the newest point of a full + {Incrementals} incrementals ({Size(f.Size)}) from a BackupRepository to a raw image, fsynced; {(isCold ? "cold" : "warm")} cache",
                $"{mib / es:F0} MiB/s ({es:F1} s; read {Size(er)}, {Size(ed)} from disk)", $"{mib / ps:F0} MiB/s ({ps:F1} s; read {Size(pr)}, {Size(pd)} from disk) `cp --sparse=always` + fsync",
                $"{ratio:F2}", "(no number in the issue)", "",
                $"medians of {e.Count} paired reps, ratio = copy time / restore time. RestoreToImage read {result!.BackupsRead} streams, {result.RecordsRead:N0} records " +
                $"({result.RecordsApplied:N0} applied), wrote {Size(result.DataBytesWritten)} of data once each, skipped {Size(result.BytesSuperseded)} superseded by newer backups")
            { Group = Report.Issue3 });
        }
        // For the analysis: what verifying every record costs on one core here (the restore verifies as it reads).
        (double sha, double crc) = HashRates();
        RestoreResult last = result ?? throw new InvalidOperationException("no restore ran");
        double verify = StreamedBytes(last);
        report.Note($"S3 analysis: on this machine one core hashes SHA-256 at {sha:F0} MiB/s and CRC-32C at {crc:F0} MiB/s. The restore reads and verifies " +
            $"{Size((long)verify)} of stream data (every record of all {last.BackupsRead} streams, superseded ones included); verification alone on one core is " +
            $"{verify / MiB / sha + verify / MiB / crc:F1} s of the restore's time.");
        // For information: the same restore into a new volume (through the engine's write path).
        var toVolume = new List<double>();
        string volDir = Path.Combine(dir, "restored-volume");
        for (int r = 0; r < 1; r++)
        {
            foreach (string s in streams)
            {
                PageCache.Prime(s);
            }
            using BackupRepository repo = BackupRepository.OpenReadOnly(repoDir);
            long t0 = Stopwatch.GetTimestamp();
            repo.RestoreToVolume(newest.BackupId, volDir);
            toVolume.Add(Stats.Seconds(t0, Stopwatch.GetTimestamp()));
            Volume.Delete(volDir);
        }
        double tv = Stats.Median(toVolume);
        double cpw = Stats.Median(cpWarm.Select(x => x.Seconds).ToList());
        report.Add(new Row($"S3b. Same restore into a new volume (RestoreToVolume: engine write path, snapshot at the end), warm cache, for information",
            $"{f.Size / (double)MiB / tv:F0} MiB/s ({tv:F1} s)", $"{f.Size / (double)MiB / cpw:F0} MiB/s (cp + fsync, median above)", $"{cpw / tv:F2}", "(info)", "",
            "one run (not paired)")
        { Group = Report.Issue3 });
        // For information: the full backup made in the set-up, against the same copy.
        var cpRef = cold ? cpCold : cpWarm;
        double cps = Stats.Median(cpRef.Select(x => x.Seconds).ToList());
        report.Add(new Row($"S3c. Full export of the {Size(f.Size)} volume into the repository (Compression None, fsynced), one {(cold ? "cold" : "warm")} run in the set-up, for information",
            $"{f.Size / (double)MiB / fullSeconds:F0} MiB/s ({fullSeconds:F1} s; read {Size(fullIo.RChar)}, {Size(fullIo.ReadBytes)} from disk)",
            $"{f.Size / (double)MiB / cps:F0} MiB/s (cp + fsync, {(cold ? "cold" : "warm")} median above)", $"{cps / fullSeconds:F2}", "(info)", "", "")
        { Group = Report.Issue3 });
    }

    private static long StreamedBytes(RestoreResult r) => r.DataBytesWritten + r.BytesSuperseded;

    /// <summary>Single-core SHA-256 and CRC-32C throughput in MiB/s (1 MiB buffers, about 0.3 s each).</summary>
    private static (double Sha, double Crc) HashRates()
    {
        byte[] buf = Throughput.RandomBuffer((int)MiB, 9);
        byte[] digest = new byte[32];
        System.Security.Cryptography.SHA256.HashData(buf, digest);
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 256; i++)
        {
            System.Security.Cryptography.SHA256.HashData(buf, digest);
        }
        double sha = 256 / Stats.Seconds(t0, Stopwatch.GetTimestamp());
        uint x = SnapshotTools.Engine.Format.Crc32C.Compute(buf);
        t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 1024; i++)
        {
            x ^= SnapshotTools.Engine.Format.Crc32C.Compute(buf);
        }
        double crc = 1024 / Stats.Seconds(t0, Stopwatch.GetTimestamp());
        GC.KeepAlive(x);
        return (sha, crc);
    }

    private static bool SameBytes(string a, string b)
    {
        const int size = 8 * 1024 * 1024;
        byte[] x = new byte[size], y = new byte[size];
        using var fa = new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var fb = new FileStream(b, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (fa.Length != fb.Length)
        {
            return false;
        }
        while (true)
        {
            int n = fa.ReadAtLeast(x, size, throwOnEndOfStream: false);
            int m = fb.ReadAtLeast(y, size, throwOnEndOfStream: false);
            if (n != m || !x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, m)))
            {
                return false;
            }
            if (n == 0)
            {
                return true;
            }
        }
    }
}
