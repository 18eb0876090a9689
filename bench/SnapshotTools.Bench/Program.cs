// SnapshotTools benchmark (issue 2, "Benchmark"): engine vs plain file writes on the same file system, in one process,
// medians of several repetitions; differential time and map memory of a 1 TiB sparse volume.
// Issue 3 ("Benchmark"): delta stream export vs raw reads, peers (qemu-img, borg, restic, rsync), restore from a
// backup repository vs a plain copy, and the export's peak memory as the volume grows (sections stream, peers, restore).
//
//   dotnet run -c Release --project bench/SnapshotTools.Bench -- [--quick] [options]
//
// See bench/README.md for the options and docs/benchmarks.md for the latest figures.
using System.Diagnostics;
using System.Runtime.InteropServices;
using SnapshotTools.Bench;
using static SnapshotTools.Bench.Units;

if (args.Length >= 3 && args[0] == "--probe-open")
{
    // Child mode of the memory measurement: a fresh process, so the working set is not that of the benchmark run.
    DeltaBench.Probe probe = DeltaBench.ProbeOpen(args[1], args[2]);
    Console.WriteLine("PROBE " + probe.Serialize());
    return 0;
}
if (args.Length >= 6 && args[0] == "--probe-export")
{
    // Child mode of the issue-3 memory measurement: a fresh process per volume size.
    StreamExportBench.MemoryProbe probe = StreamExportBench.ProbeExport(args[1], args[2], args[3], args[4], args[5]);
    Console.WriteLine("PROBE " + probe.Serialize());
    return 0;
}

Config config;
try
{
    config = Config.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(Config.Usage);
    return 2;
}
if (config.Help)
{
    Console.WriteLine(Config.Usage);
    return 0;
}

Directory.CreateDirectory(config.Root);
var report = new Report();
var total = Stopwatch.StartNew();
void RemoveWorkFolder()
{
    // Ctrl+C or SIGTERM: remove the work folder (open files included; this is Linux/macOS-safe). Peers started by the
    // benchmark are in the same process group and get the Ctrl+C too; ExternalTool.Stop ends one still running.
    // A peer that is still cleaning up after its own Ctrl+C can remove or add files under our feet: retry a while.
    for (int attempt = 1; Directory.Exists(config.Root); attempt++)
    {
        try
        {
            Directory.Delete(config.Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (attempt == 25)
            {
                Console.Error.WriteLine($"could not remove {config.Root}: {ex.Message}");
                return;
            }
            Thread.Sleep(200);
        }
    }
}
void Interrupted(PosixSignalContext context)
{
    // Stop starting peers, remove the work folder, and end the process (the main thread may be anywhere).
    context.Cancel = true;
    ExternalTool.Stop();
    Console.Error.WriteLine($"{context.Signal}: removing {config.Root}");
    RemoveWorkFolder();
    Environment.Exit(130);
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Interrupted);

string startState = PrintHeader(config);
int exit = 0;
try
{
    foreach (string section in config.Sections)
    {
        Console.WriteLine($"-- {section} (t = {total.Elapsed.TotalSeconds:F0} s)");
        switch (section)
        {
            case "steady":
                Throughput.Steady(config, report);
                break;
            case "cow":
                Throughput.CopyOnWrite(config, report);
                break;
            case "small":
                Throughput.SmallWrites(config, report);
                break;
            case "model":
                CowModel.Run(config, report);
                break;
            case "delta":
                DeltaBench.Run(config, report);
                break;
            case "stream":
                StreamExportBench.Run(config, report);
                break;
            case "peers":
                PeerBench.Run(config, report);
                break;
            case "restore":
                RestoreBench.Run(config, report);
                break;
        }
    }
}
catch (Exception ex)
{
    Console.Error.WriteLine($"benchmark failed: {ex}");
    exit = 1;
}
finally
{
    try
    {
        if (Directory.Exists(config.Root))
        {
            report.Note($"Machine at the end of the run: {MachineProbe.Describe(config.Root)}.");
            Directory.Delete(config.Root, recursive: true);
        }
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"could not remove {config.Root}: {ex.Message}");
    }
}

Console.WriteLine();
Console.WriteLine($"## Results ({(config.Quick ? "quick" : "full")} run, {total.Elapsed.TotalSeconds:F0} s)");
Console.WriteLine();
Console.WriteLine($"Machine at the start of the run: {startState}.");
Console.WriteLine();
report.PrintMarkdown(Console.Out);
return exit;

static string PrintHeader(Config c)
{
    string state = MachineProbe.Describe(c.Root);
    Console.WriteLine($"SnapshotTools benchmark, {(c.Quick ? "quick" : "full")} run, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Console.WriteLine($"  {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, " +
        $"GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}");
    var drive = new DriveInfo(c.Root);
    Console.WriteLine($"  work folder {c.Root} on {drive.DriveFormat} ({Bytes(drive.AvailableFreeSpace)} free); removed at the end");
    Console.WriteLine($"  sections: {string.Join(", ", c.Sections)}");
    Console.WriteLine($"  machine at start: {state}");
    Console.WriteLine("  ratios = engine throughput / plain throughput, median over paired repetitions (alternating order);");
    Console.WriteLine("  both sides end every timed pass with one fsync-based Flush (Volume.Flush / fsync of the plain file).");
    if (c.Sections.Any(s => s is "stream" or "peers" or "restore"))
    {
        Console.WriteLine($"  issue 3: {Bytes(c.StreamVolume)} volume requested; cold-cache runs {(c.Cold ? (PageCache.CanDrop ? "on (drop_caches works)" : "off (drop_caches not writable)") : "off (--no-cold)")}; " +
            $"reps stream {c.RepsStream}+{c.RepsStreamCold} cold, peers {c.RepsPeers}+{c.RepsPeersCold}, restore {c.RepsRestore}+{c.RepsRestoreCold}");
    }
    Console.WriteLine();
    return state;
}

namespace SnapshotTools.Bench
{
    internal sealed class Config
    {
        public const string Usage = """
            usage: SnapshotTools.Bench [--quick] [--dir PATH] [--only SECTIONS] [--region SIZE] [--delta-volume SIZE]
                                       [--stream-volume SIZE] [--reps N] [--no-cold] [--no-install]
              --quick           small smoke run (seconds): 64 MiB regions, 16 GiB differential volume, 256 MiB
                                issue-3 volume, 2-3 reps
              --dir PATH        where to make the temporary work folder (default: the system temp folder)
              --only LIST       run only these sections (default: all), comma-separated:
                                issue 2: steady, cow, small, model, delta (or: issue2)
                                issue 3: stream, peers, restore (or: issue3)
              --region SIZE     region written by the 1 MiB throughput passes (default 1G; quick 64M)
              --delta-volume S  size of the sparse differential/memory volume (default 1T; quick 16G)
              --stream-volume S size of the issue-3 volume (default 8G; quick 256M)
              --reps N          repetitions of every timed measurement (overrides the defaults)
              --no-cold         no cold-cache runs (they drop the page cache of the whole machine; root only)
              --no-install      do not apt-get install missing peers (qemu-utils, borgbackup, restic, rsync)
            """;

        public bool Quick { get; private set; }
        public bool Help { get; private set; }
        public string Root { get; private set; } = "";
        public static readonly string[] Issue2Sections = { "steady", "cow", "small", "model", "delta" };
        public static readonly string[] Issue3Sections = { "stream", "peers", "restore" };
        public static readonly string[] AllSections = Issue2Sections.Concat(Issue3Sections).ToArray();

        public List<string> Sections { get; private set; } = AllSections.ToList();
        public long Region { get; private set; }
        public long ModelRegion { get; private set; }
        public long SmallRegion { get; private set; }
        public long DeltaVolume { get; private set; }
        public int RepsSteady { get; private set; }
        public int RepsCow { get; private set; }
        public int RepsSmall { get; private set; }
        public int RepsModel { get; private set; }
        public int DeltaReps { get; private set; }
        public long StreamVolume { get; private set; }
        public int RepsStream { get; private set; }
        public int RepsStreamCold { get; private set; }
        public int RepsPeers { get; private set; }
        public int RepsPeersCold { get; private set; }
        public int RepsRestore { get; private set; }
        public int RepsRestoreCold { get; private set; }
        public bool Cold { get; private set; } = true;
        public bool InstallPeers { get; private set; } = true;

        public static Config Parse(string[] args)
        {
            var c = new Config();
            string? dir = null;
            long? region = null;
            long? deltaVolume = null;
            long? streamVolume = null;
            int? reps = null;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--quick":
                        c.Quick = true;
                        break;
                    case "--dir":
                        dir = Next();
                        break;
                    case "--only":
                        var wanted = new HashSet<string>();
                        foreach (string s in Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            if (s == "issue2" || s == "issue3")
                            {
                                wanted.UnionWith(s == "issue2" ? Issue2Sections : Issue3Sections);
                            }
                            else if (AllSections.Contains(s))
                            {
                                wanted.Add(s);
                            }
                            else
                            {
                                throw new ArgumentException($"unknown section '{s}'");
                            }
                        }
                        // Always in the canonical order: the issue-3 sections share one volume, and restore adds to it.
                        c.Sections = AllSections.Where(wanted.Contains).ToList();
                        break;
                    case "--stream-volume":
                        streamVolume = ParseSize(Next());
                        break;
                    case "--no-cold":
                        c.Cold = false;
                        break;
                    case "--no-install":
                        c.InstallPeers = false;
                        break;
                    case "--region":
                        region = ParseSize(Next());
                        break;
                    case "--delta-volume":
                        deltaVolume = ParseSize(Next());
                        break;
                    case "--reps":
                        reps = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture);
                        if (reps < 1)
                        {
                            throw new ArgumentException("--reps must be at least 1");
                        }
                        break;
                    case "-h" or "--help":
                        c.Help = true;
                        break;
                    default:
                        throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            c.Region = region ?? (c.Quick ? 64 * MiB : GiB);
            c.ModelRegion = c.Quick ? c.Region : Math.Min(c.Region, 512 * MiB);
            c.SmallRegion = c.Quick ? 4 * MiB : 64 * MiB;
            c.DeltaVolume = deltaVolume ?? (c.Quick ? 16 * GiB : TiB);
            c.RepsSteady = reps ?? (c.Quick ? 3 : 7);
            c.RepsCow = reps ?? (c.Quick ? 3 : 5);
            c.RepsSmall = reps ?? 3;
            c.RepsModel = reps ?? 3;
            c.DeltaReps = reps ?? (c.Quick ? 5 : 11);
            c.StreamVolume = streamVolume ?? (c.Quick ? 256 * MiB : 8 * GiB);
            c.RepsStream = reps ?? (c.Quick ? 3 : 7);
            c.RepsStreamCold = reps ?? (c.Quick ? 2 : 5);
            c.RepsPeers = reps ?? (c.Quick ? 2 : 3);
            c.RepsPeersCold = reps ?? (c.Quick ? 1 : 2);
            c.RepsRestore = reps ?? 2;
            c.RepsRestoreCold = reps ?? (c.Quick ? 1 : 2);
            if (c.StreamVolume < 64 * MiB || c.StreamVolume % MiB != 0)
            {
                throw new ArgumentException("--stream-volume must be at least 64 MiB and a multiple of 1 MiB");
            }
            if (c.Region < MiB || c.Region % MiB != 0)
            {
                throw new ArgumentException("--region must be a positive multiple of 1 MiB");
            }
            if (c.DeltaVolume < GiB || c.DeltaVolume % (64 * KiB) != 0)
            {
                throw new ArgumentException("--delta-volume must be at least 1 GiB and a multiple of 64 KiB");
            }
            c.Root = Path.Combine(Path.GetFullPath(dir ?? Path.GetTempPath()), $"snapshottools-bench-{Environment.ProcessId}");
            return c;
        }

        private static long ParseSize(string s)
        {
            try
            {
                return Units.ParseBytes(s);
            }
            catch (FormatException)
            {
                throw new ArgumentException($"bad size '{s}' (use e.g. 512M, 1G, 1T)");
            }
        }
    }
}
