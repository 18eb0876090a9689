using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SnapshotTools.Bench;

/// <summary>What one run of an external tool cost: wall time, and the I/O counters of the tool and all its children.</summary>
internal sealed record ToolRun(double Seconds, IoCounters Io, int ExitCode, string Log);

/// <summary>
/// Runs the peers (qemu-img, borg, restic, rsync, cp) under a tiny <c>/bin/sh</c> wrapper that prints its own
/// <c>/proc/$$/io</c> after the tool exits: the kernel adds a reaped child's counters (and its children's) to the
/// parent's, so that is the tool's I/O, multi-process tools included, and nothing of this benchmark process.
/// </summary>
internal static class ExternalTool
{
    private const string Wrapper = "\"$@\" <\"$BENCH_IN\" >\"$BENCH_LOG\" 2>&1; rc=$?; cat /proc/$$/io; exit $rc";

    private static readonly object Gate = new();
    private static Process? _running;
    private static bool _stopped;

    /// <summary>On Ctrl+C: start nothing more, and end the tool that is running (and the wrapper around it).</summary>
    public static void Stop()
    {
        lock (Gate)
        {
            _stopped = true;
            try
            {
                _running?.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
    }

    public static string? Which(string name)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? name : null;
        }
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin").Split(':'))
        {
            string p = Path.Combine(dir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>; throws with the end of its output when it fails.</summary>
    public static ToolRun Run(string file, IEnumerable<string> args, string workDir, IDictionary<string, string>? env = null, string? stdin = null, bool check = true)
    {
        string log = Path.Combine(workDir, $"tool-{Environment.TickCount64}-{Random.Shared.Next():x}.log");
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Wrapper);
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(file);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["BENCH_IN"] = stdin ?? "/dev/null";
        psi.Environment["BENCH_LOG"] = log;
        psi.Environment["LC_ALL"] = "C";
        if (env != null)
        {
            foreach (var kv in env)
            {
                psi.Environment[kv.Key] = kv.Value;
            }
        }
        long t0 = Stopwatch.GetTimestamp();
        Process p;
        lock (Gate)
        {
            if (_stopped)
            {
                throw new OperationCanceledException("interrupted");
            }
            p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
            _running = p;
        }
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        long t1 = Stopwatch.GetTimestamp();
        lock (Gate)
        {
            _running = null;
        }
        using var disposeProcess = p;
        string text = File.Exists(log) ? File.ReadAllText(log) : "";
        File.Delete(log);
        var run = new ToolRun(Stats.Seconds(t0, t1), IoCounters.Parse(output), p.ExitCode, text);
        if (check && p.ExitCode != 0)
        {
            string tail = text.Length > 2000 ? text[^2000..] : text;
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed (exit {p.ExitCode}): {tail.Trim()}");
        }
        return run;
    }

    /// <summary>
    /// Installs the peers that are missing with apt-get (root, Debian/Ubuntu), unless <paramref name="allowInstall"/> is
    /// false. Returns nothing; callers check <see cref="Which"/> afterwards and print "skipped: ... not installed".
    /// </summary>
    public static void EnsureInstalled(IReadOnlyList<(string Command, string Package)> tools, bool allowInstall)
    {
        var missing = tools.Where(t => Which(t.Command) == null).Select(t => t.Package).Distinct().ToList();
        if (missing.Count == 0)
        {
            return;
        }
        string line = $"apt-get install -y --no-install-recommends {string.Join(' ', missing)}";
        if (!allowInstall)
        {
            Console.WriteLine($"    missing peers ({string.Join(", ", missing)}); not installing them (--no-install). To install: {line}");
            return;
        }
        if (!OperatingSystem.IsLinux() || NativeMethods.geteuid() != 0 || Which("apt-get") == null)
        {
            Console.WriteLine($"    missing peers ({string.Join(", ", missing)}); cannot install them here (needs root and apt-get): {line}");
            return;
        }
        Console.WriteLine($"    installing missing peers: {line}");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string tmp = Path.GetTempPath();
        var args = new List<string> { "install", "-y", "-q", "--no-install-recommends" };
        args.AddRange(missing);
        ToolRun first = Run("apt-get", args, tmp, env, check: false);
        if (first.ExitCode != 0)
        {
            Console.WriteLine("    apt-get install failed; running apt-get update and trying again");
            Run("apt-get", new[] { "update", "-q" }, tmp, env, check: false);
            ToolRun second = Run("apt-get", args, tmp, env, check: false);
            if (second.ExitCode != 0)
            {
                string tail = second.Log.Length > 600 ? second.Log[^600..] : second.Log;
                Console.WriteLine($"    apt-get install failed (exit {second.ExitCode}): {tail.Trim()}");
            }
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        public static extern uint geteuid();
    }
}
