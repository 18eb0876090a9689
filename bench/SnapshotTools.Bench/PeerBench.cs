using System.Globalization;
using System.Text.Json;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// Issue 3, goal 2: bytes read and wall time of the engine's incremental export against peers making the same
/// incremental of the same bytes: <c>qemu-img convert</c> of a qcow2 overlay holding the same writes, <c>borg create</c>
/// and <c>restic backup</c> of the whole image (the second backup, after a full one), and <c>rsync</c> of the image onto
/// the previous copy. Every peer rep is paired with an engine export in the same cache state, order alternating.
/// </summary>
internal static class PeerBench
{
    private static readonly (string Command, string Package)[] Tools =
    {
        ("qemu-img", "qemu-utils"), ("qemu-io", "qemu-utils"), ("borg", "borgbackup"), ("restic", "restic"), ("rsync", "rsync"),
    };

    /// <summary>One peer's reps, each with the engine export run next to it.</summary>
    private sealed class Paired
    {
        public List<ToolRun> PeerWarm { get; } = new();
        public List<ToolRun> PeerCold { get; } = new();
        public List<StreamExportBench.PassResult> EngineWarm { get; } = new();
        public List<StreamExportBench.PassResult> EngineCold { get; } = new();
    }

    public static void Run(Config c, Report report)
    {
        StreamFixture f = StreamFixture.Get(c, report);
        if (!f.HasBase)
        {
            report.Note("peers: skipped, the raw image of s0 was not built (internal error)");
            return;
        }
        Console.WriteLine($"[S2] Peers making the same incremental ({Size(f.ChangedBytes)} changed in a {Size(f.Size)} image): " +
            $"{c.RepsPeers} warm reps{(c.Cold && PageCache.CanDrop ? $", {c.RepsPeersCold} cold-cache reps" : "")} each, paired with an engine export");
        ExternalTool.EnsureInstalled(Tools, c.InstallPeers);
        string dir = Path.Combine(f.Dir, "peers");
        Directory.CreateDirectory(dir);
        try
        {
            using (Volume volume = Volume.Open(f.VolumeDir))
            {
                var ctx = new Context(c, f, report, volume, dir);
                Step("qemu", ctx, Qemu);
                Step("borg", ctx, Borg);
                Step("restic", ctx, Restic);
                Step("rsync", ctx, Rsync);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            // Back to the fixture's state: image.raw is the volume at s1. base.raw was overwritten by rsync.
            f.WriteChanged(f.ImagePath, 1);
            f.DropBase();
        }
    }

    private sealed record Context(Config C, StreamFixture F, Report Report, Volume Volume, string Dir)
    {
        public bool Cold => C.Cold && PageCache.CanDrop;

        public Dictionary<string, string> Env { get; } = new();
    }

    private static void Step(string name, Context ctx, Action<Context> step)
    {
        try
        {
            step(ctx);
        }
        catch (InvalidOperationException ex)
        {
            ctx.Report.Note($"{name}: failed: {ex.Message}");
            Console.WriteLine($"    {name} failed: {ex.Message}");
        }
    }

    private static bool Have(Context ctx, params string[] commands)
    {
        foreach (string cmd in commands)
        {
            if (ExternalTool.Which(cmd) == null)
            {
                string package = Tools.First(t => t.Command == cmd).Package;
                string line = $"skipped: {cmd} not installed (apt-get install {package})";
                Console.WriteLine("    " + line);
                ctx.Report.Note(line);
                return false;
            }
        }
        return true;
    }

    /// <summary>Warm then cold reps of <paramref name="peer"/>, each next to an engine export in the same cache state.
    /// <paramref name="prepare"/> gets the rep number (0, 1, ...) and sets up the state that rep backs up.</summary>
    private static Paired RunPaired(Context ctx, string name, Action<int> prepare, Func<ToolRun> peer, string[] prime)
    {
        var result = new Paired();
        string enginePath = Path.Combine(ctx.Dir, "engine.stdelta");
        int rep = 0;
        foreach (bool cold in ctx.Cold ? new[] { false, true } : new[] { false })
        {
            int reps = cold ? ctx.C.RepsPeersCold : ctx.C.RepsPeers;
            for (int r = 0; r < reps; r++, rep++)
            {
                prepare(rep);
                for (int k = 0; k < 2; k++)
                {
                    bool engineTurn = (k == 0) == (r % 2 == 0);
                    if (engineTurn)
                    {
                        if (cold)
                        {
                            PageCache.Drop();
                        }
                        else
                        {
                            StreamExportBench.ExportToFile(ctx.Volume, "s0", "s1", enginePath, StreamCompression.None);
                            File.Delete(enginePath);
                        }
                        var e = StreamExportBench.ExportToFile(ctx.Volume, "s0", "s1", enginePath, StreamCompression.None).Pass;
                        File.Delete(enginePath);
                        (cold ? result.EngineCold : result.EngineWarm).Add(e);
                    }
                    else
                    {
                        if (cold)
                        {
                            PageCache.Drop();
                        }
                        else
                        {
                            foreach (string p in prime)
                            {
                                PageCache.Prime(p);
                            }
                        }
                        ToolRun t = peer();
                        (cold ? result.PeerCold : result.PeerWarm).Add(t);
                    }
                }
                ToolRun pt = (cold ? result.PeerCold : result.PeerWarm)[^1];
                var et = (cold ? result.EngineCold : result.EngineWarm)[^1];
                Console.WriteLine($"    {name} rep {rep + 1} ({(cold ? "cold" : "warm")}, {(r % 2 == 0 ? "engine first" : "peer first")}): {pt.Seconds:F2} s, " +
                    $"rchar {Size(pt.Io.RChar)}, read_bytes {Size(pt.Io.ReadBytes)}, wchar {Size(pt.Io.WChar)}; engine {et.Seconds * 1000:F0} ms, read_bytes {Size(et.Io.ReadBytes)}");
            }
        }
        return result;
    }

    private static string Fmt(long n) => Size(n);

    private static string Times(double x) => x < 10 ? $"{x:F1}x" : $"{x:F0}x";

    private static void AddRows(Context ctx, string label, Paired p, string detail)
    {
        foreach (bool cold in new[] { false, true })
        {
            List<ToolRun> peer = cold ? p.PeerCold : p.PeerWarm;
            List<StreamExportBench.PassResult> engine = cold ? p.EngineCold : p.EngineWarm;
            if (peer.Count == 0)
            {
                continue;
            }
            var ratios = new List<double>();
            for (int i = 0; i < Math.Min(peer.Count, engine.Count); i++)
            {
                ratios.Add(peer[i].Seconds / engine[i].Seconds);
            }
            double ratio = Stats.Median(ratios);
            double peerS = Stats.Median(peer.Select(x => x.Seconds).ToList());
            double engS = Stats.Median(engine.Select(x => x.Seconds).ToList());
            long peerR = (long)Stats.Median(peer.Select(x => (double)x.Io.RChar).ToList());
            long peerD = (long)Stats.Median(peer.Select(x => (double)x.Io.ReadBytes).ToList());
            long peerW = (long)Stats.Median(peer.Select(x => (double)x.Io.WChar).ToList());
            long engR = (long)Stats.Median(engine.Select(x => (double)x.Io.RChar).ToList());
            long engD = (long)Stats.Median(engine.Select(x => (double)x.Io.ReadBytes).ToList());
            long engW = (long)Stats.Median(engine.Select(x => x.Written).Select(x => (double)x).ToList());
            bool readsLittle = engR <= ctx.F.ChangedBytes * 5 / 4 + 4 * MiB;
            ctx.Report.Add(new Row($"S2. {label}; {(cold ? "cold" : "warm")} cache",
                $"{engS * 1000:F0} ms; read {Fmt(engR)} ({Fmt(engD)} from disk); wrote {Fmt(engW)}",
                $"{peerS:F2} s; read {Fmt(peerR)} ({Fmt(peerD)} from disk); wrote {Fmt(peerW)}",
                $"peer/engine: time {ratio:F1}x, bytes read {Times(peerR / (double)Math.Max(1, engR))}",
                $"engine reads ~{Size(ctx.F.ChangedBytes)}", readsLittle ? "yes" : "**no**",
                $"medians of {peer.Count} paired reps (ratio = peer time / engine time of the same rep); engine = DeltaStreamWriter, Compression None, to a file, fsynced. {detail}")
            { Group = Report.Issue3 });
        }
    }

    private static void Qemu(Context ctx)
    {
        if (!Have(ctx, "qemu-img", "qemu-io"))
        {
            return;
        }
        StreamFixture f = ctx.F;
        string overlay = Path.Combine(ctx.Dir, "overlay.qcow2");
        string output = Path.Combine(ctx.Dir, "out.qcow2");
        string size = f.Size.ToString(CultureInfo.InvariantCulture);
        ExternalTool.Run("qemu-img", new[] { "create", "-q", "-f", "qcow2", "-b", f.BasePath, "-F", "raw", overlay, size }, ctx.Dir);
        // The same writes into the overlay: each changed chunk's s1 bytes from a file of its own (qemu-io write -s).
        string chunkDir = Path.Combine(ctx.Dir, "chunks");
        Directory.CreateDirectory(chunkDir);
        byte[] chunk = new byte[StreamFixture.ChunkSize];
        string commands = Path.Combine(ctx.Dir, "qemu-io.commands");
        using (var w = new StreamWriter(commands))
        {
            foreach (long ch in f.Changed)
            {
                StreamFixture.FillChunk(chunk, ch, 1);
                string file = Path.Combine(chunkDir, $"{ch}.bin");
                File.WriteAllBytes(file, chunk);
                w.WriteLine($"write -q -s {file} {ch * StreamFixture.ChunkSize} {StreamFixture.ChunkSize}");
            }
            w.WriteLine("quit");
        }
        ToolRun setup = ExternalTool.Run("qemu-io", new[] { "-f", "qcow2", overlay }, ctx.Dir, stdin: commands);
        Directory.Delete(chunkDir, recursive: true);
        long allocated = AllocatedTopLayer(overlay, ctx.Dir);
        if (allocated != f.ChangedBytes)
        {
            throw new InvalidOperationException($"the overlay holds {allocated} bytes of its own, not the {f.ChangedBytes} written (qemu-io output: {setup.Log[..Math.Min(500, setup.Log.Length)]})");
        }
        string check = "qemu-img map: the overlay's own clusters are exactly the changed chunks";
        if (ctx.C.Quick)
        {
            ExternalTool.Run("qemu-img", new[] { "compare", "-q", "-f", "qcow2", "-F", "raw", overlay, f.ImagePath }, ctx.Dir);
            check += "; qemu-img compare: overlay == image.raw";
        }
        Console.WriteLine($"    qemu: overlay written with qemu-io in {setup.Seconds:F1} s ({f.Changed.Length:N0} writes of 64 KiB); {check}");
        string[] convert = { "convert", "-t", "writeback", "-O", "qcow2", "-B", f.BasePath, "-F", "raw", overlay, output };
        Paired p = RunPaired(ctx, "qemu-img convert -B", _ => { }, () =>
        {
            ToolRun t = ExternalTool.Run("qemu-img", convert, ctx.Dir);
            File.Delete(output);
            return t;
        }, new[] { overlay });
        AddRows(ctx, "qemu-img convert -O qcow2 -B base.raw of the qcow2 overlay holding the same writes (qemu's incremental export)", p,
            $"Overlay: `qemu-img create -f qcow2 -b base.raw -F raw`, then one `qemu-io write -s FILE OFF 64k` per changed chunk with its bytes; {check}. " +
            "qemu-img convert fdatasyncs its output (default writeback cache).");
        // For information: the full convert (flatten), which reads the backing image too.
        if (ctx.Cold)
        {
            PageCache.Drop();
        }
        string flat = Path.Combine(ctx.Dir, "flat.qcow2");
        ToolRun full = ExternalTool.Run("qemu-img", new[] { "convert", "-t", "writeback", "-O", "qcow2", overlay, flat }, ctx.Dir);
        File.Delete(flat);
        List<StreamExportBench.PassResult> eng = ctx.Cold ? p.EngineCold : p.EngineWarm;
        double engS = Stats.Median(eng.Select(x => x.Seconds).ToList());
        ctx.Report.Add(new Row($"S2b. qemu-img convert -O qcow2 of the overlay without -B (flattens: reads the backing image too), one {(ctx.Cold ? "cold" : "warm")} run, for information",
            $"{engS * 1000:F0} ms (median above)", $"{full.Seconds:F2} s; read {Fmt(full.Io.RChar)} ({Fmt(full.Io.ReadBytes)} from disk); wrote {Fmt(full.Io.WChar)}",
            $"{full.Seconds / engS:F1}x", "(info)", "", "")
        { Group = Report.Issue3 });
        File.Delete(overlay);
    }

    /// <summary>Bytes the overlay holds itself (depth 0, data), from <c>qemu-img map --output=json</c>.</summary>
    private static long AllocatedTopLayer(string image, string dir)
    {
        string json = Path.Combine(dir, "map.json");
        var psi = new System.Diagnostics.ProcessStartInfo("qemu-img") { RedirectStandardOutput = true };
        foreach (string a in new[] { "map", "--output=json", image })
        {
            psi.ArgumentList.Add(a);
        }
        using var proc = System.Diagnostics.Process.Start(psi)!;
        string text = proc.StandardOutput.ReadToEnd();
        proc.WaitForExit();
        long total = 0;
        using JsonDocument doc = JsonDocument.Parse(text);
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            if (e.GetProperty("depth").GetInt32() == 0 && e.GetProperty("data").GetBoolean())
            {
                total += e.GetProperty("length").GetInt64();
            }
        }
        return total;
    }

    private static long DirectoryBytes(string dir) =>
        Directory.Exists(dir) ? new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(fi => fi.Length) : 0;

    /// <summary>Sets image.raw to the state rep <paramref name="rep"/> backs up: generation rep+1 of the changed chunks
    /// (rep 0 is exactly the engine's s1), so every rep is a real incremental of 1% of the chunks.</summary>
    private static void PrepareRep(Context ctx, int rep) => ctx.F.WriteChanged(ctx.F.ImagePath, rep + 1);

    private static void Borg(Context ctx)
    {
        if (!Have(ctx, "borg"))
        {
            return;
        }
        StreamFixture f = ctx.F;
        string repo = Path.Combine(ctx.Dir, "borg-repo");
        var env = new Dictionary<string, string>
        {
            ["BORG_BASE_DIR"] = Path.Combine(ctx.Dir, "borg-home"),
            ["BORG_PASSPHRASE"] = "",
            ["BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK"] = "yes",
            ["BORG_RELOCATED_REPO_ACCESS_IS_OK"] = "yes",
        };
        ExternalTool.Run("borg", new[] { "init", "-e", "none", repo }, f.Dir, env);
        f.WriteChanged(f.ImagePath, 0); // image.raw = s0
        ToolRun full = ExternalTool.Run("borg", new[] { "create", $"{repo}::full", "image.raw" }, f.Dir, env);
        long afterFull = DirectoryBytes(repo);
        Console.WriteLine($"    borg: full backup of the {Size(f.Size)} image in {full.Seconds:F1} s (repository {Size(afterFull)})");
        int n = 0;
        Paired p = RunPaired(ctx, "borg create", rep => PrepareRep(ctx, rep),
            () => ExternalTool.Run("borg", new[] { "create", $"{repo}::inc{n++}", "image.raw" }, f.Dir, env), new[] { f.ImagePath });
        long grown = DirectoryBytes(repo) - afterFull;
        string version = ExternalTool.Run("borg", new[] { "--version" }, f.Dir, env).Log.Trim();
        AddRows(ctx, "borg create of the whole image (second backup after a full one: incremental)", p,
            $"{version}, `borg init -e none`, default lz4 compression and chunker (~2 MiB chunks); the full backup took {full.Seconds:F1} s and read {Fmt(full.Io.RChar)}; " +
            $"each incremental added {Fmt(grown / Math.Max(1, n))} to the repository on average (a changed 64 KiB chunk makes borg store its whole ~2 MiB chunk again).");
        Directory.Delete(repo, recursive: true);
        Directory.Delete(env["BORG_BASE_DIR"], recursive: true);
    }

    private static void Restic(Context ctx)
    {
        if (!Have(ctx, "restic"))
        {
            return;
        }
        StreamFixture f = ctx.F;
        string repo = Path.Combine(ctx.Dir, "restic-repo");
        var env = new Dictionary<string, string>
        {
            ["RESTIC_PASSWORD"] = "snapshottools-bench",
            ["RESTIC_CACHE_DIR"] = Path.Combine(ctx.Dir, "restic-cache"),
            ["HOME"] = ctx.Dir,
            ["TMPDIR"] = ctx.Dir, // restic writes each pack to a temporary file first, then copies it into the repository
        };
        ExternalTool.Run("restic", new[] { "init", "-q", "-r", repo }, f.Dir, env);
        f.WriteChanged(f.ImagePath, 0);
        string[] backup = { "-r", repo, "backup", "-q", "--host", "bench", "image.raw" };
        ToolRun full = ExternalTool.Run("restic", backup, f.Dir, env);
        long afterFull = DirectoryBytes(repo);
        Console.WriteLine($"    restic: full backup of the {Size(f.Size)} image in {full.Seconds:F1} s (repository {Size(afterFull)})");
        int n = 0;
        Paired p = RunPaired(ctx, "restic backup", rep => PrepareRep(ctx, rep), () =>
        {
            n++;
            return ExternalTool.Run("restic", backup, f.Dir, env);
        }, new[] { f.ImagePath });
        long grown = DirectoryBytes(repo) - afterFull;
        string version = ExternalTool.Run("restic", new[] { "version" }, f.Dir, env).Log.Trim();
        AddRows(ctx, "restic backup of the whole image (second backup after a full one: incremental)", p,
            $"{version}, default repository (v2, compression auto, AES-256 always on) and chunker (~1 MiB chunks); the full backup took {full.Seconds:F1} s and read {Fmt(full.Io.RChar)}; " +
            $"each incremental added {Fmt(grown / Math.Max(1, n))} to the repository on average. restic writes every new pack to a temporary file and then " +
            "copies it into the local repository, which is why it reads and writes the new data twice.");
        Directory.Delete(repo, recursive: true);
        if (Directory.Exists(env["RESTIC_CACHE_DIR"]))
        {
            Directory.Delete(env["RESTIC_CACHE_DIR"], recursive: true);
        }
    }

    private static void Rsync(Context ctx)
    {
        if (!Have(ctx, "rsync"))
        {
            return;
        }
        StreamFixture f = ctx.F;
        // The previous copy is base.raw (s0); each rep moves it to the image's state, and the next rep changes 1% again.
        Paired p = RunPaired(ctx, "rsync", rep => PrepareRep(ctx, rep),
            () => ExternalTool.Run("rsync", new[] { "--inplace", "--no-whole-file", "-I", "image.raw", "base.raw" }, f.Dir), new[] { f.ImagePath, f.BasePath });
        string version = ExternalTool.Run("rsync", new[] { "--version" }, f.Dir).Log.Split('\n')[0].Trim();
        AddRows(ctx, "rsync --inplace --no-whole-file of the image onto the previous copy", p,
            $"{version}; local rsync runs a sender, a generator and a receiver: the basis file is read for the block checksums and again for the " +
            "matched data, the new file once, and rchar also counts what they pass through pipes. -I forces the transfer even when size and mtime match.");
    }
}
