// SnapshotTools benchmark (issue 2, "Benchmark"): engine vs plain file writes on the same file system, in one process,
// medians of several repetitions; differential time and map memory of a 1 TiB sparse volume.
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
Console.CancelKeyPress += (_, _) =>
{
    // Ctrl+C: remove the work folder (open files included; this is Linux/macOS-safe) and let the process end.
    try
    {
        Directory.Delete(config.Root, recursive: true);
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"could not remove {config.Root}: {ex.Message}");
    }
};

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
        report.Note($"Machine at the end of the run: {MachineProbe.Describe(config.Root)}.");
        Directory.Delete(config.Root, recursive: true);
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
    Console.WriteLine();
    return state;
}

namespace SnapshotTools.Bench
{
    internal sealed class Config
    {
        public const string Usage = """
            usage: SnapshotTools.Bench [--quick] [--dir PATH] [--only steady,cow,small,model,delta]
                                       [--region SIZE] [--delta-volume SIZE] [--reps N]
              --quick           small smoke run (seconds): 64 MiB regions, 16 GiB differential volume, 3 reps
              --dir PATH        where to make the temporary work folder (default: the system temp folder)
              --only LIST       run only these sections (default: all)
              --region SIZE     region written by the 1 MiB throughput passes (default 1G; quick 64M)
              --delta-volume S  size of the sparse differential/memory volume (default 1T; quick 16G)
              --reps N          repetitions of every timed measurement (overrides the defaults)
            """;

        public bool Quick { get; private set; }
        public bool Help { get; private set; }
        public string Root { get; private set; } = "";
        public List<string> Sections { get; private set; } = new() { "steady", "cow", "small", "model", "delta" };
        public long Region { get; private set; }
        public long ModelRegion { get; private set; }
        public long SmallRegion { get; private set; }
        public long DeltaVolume { get; private set; }
        public int RepsSteady { get; private set; }
        public int RepsCow { get; private set; }
        public int RepsSmall { get; private set; }
        public int RepsModel { get; private set; }
        public int DeltaReps { get; private set; }

        public static Config Parse(string[] args)
        {
            var c = new Config();
            string? dir = null;
            long? region = null;
            long? deltaVolume = null;
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
                        c.Sections = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                        foreach (string s in c.Sections)
                        {
                            if (s is not ("steady" or "cow" or "small" or "model" or "delta"))
                            {
                                throw new ArgumentException($"unknown section '{s}'");
                            }
                        }
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
