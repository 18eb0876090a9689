using System.Diagnostics;

namespace SnapshotTools.Engine.Tests;

/// <summary>Runs real Debian clients (qemu-img, e2fsck, debugfs, mkfs.ext4) for interop tests.</summary>
internal static class ExternalTools
{
    /// <summary>
    /// Returns whether <paramref name="tool"/> is on PATH. On CI (CI=true) a missing tool is a failure, since
    /// .ci/run installs them; elsewhere the test returns early and says so.
    /// </summary>
    public static bool Available(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(new[] { "/usr/sbin", "/sbin", "/usr/bin" }))
        {
            if (File.Exists(Path.Combine(dir, tool)))
            {
                return true;
            }
        }
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"'{tool}' is not installed, but .ci/run installs it: the CI setup is broken.");
        }
        Console.WriteLine($"skipped: '{tool}' is not installed (apt-get install qemu-utils e2fsprogs)");
        return false;
    }

    /// <summary>Runs a tool and returns (exit code, stdout + stderr).</summary>
    public static (int ExitCode, string Output) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PATH"] = (Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
