using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SnapshotTools.Bench;

/// <summary>
/// The kernel's per-process I/O counters (<c>/proc/PID/io</c>): <see cref="RChar"/> counts every byte returned by
/// read/pread (page cache or not, pipes included), <see cref="ReadBytes"/> only what had to come from the storage device.
/// </summary>
internal readonly record struct IoCounters(long RChar, long WChar, long ReadBytes, long WriteBytes)
{
    public static IoCounters operator -(IoCounters a, IoCounters b) =>
        new(a.RChar - b.RChar, a.WChar - b.WChar, a.ReadBytes - b.ReadBytes, a.WriteBytes - b.WriteBytes);

    public static bool Available => File.Exists("/proc/self/io");

    /// <summary>This whole process (all threads; reaped children are added by the kernel too).</summary>
    public static IoCounters Self() => Available ? Parse(File.ReadAllText("/proc/self/io")) : default;

    public static IoCounters Parse(string text)
    {
        long rchar = 0, wchar = 0, readBytes = 0, writeBytes = 0;
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }
            string key = line[..colon].Trim();
            if (!long.TryParse(line[(colon + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            {
                continue;
            }
            switch (key)
            {
                case "rchar":
                    rchar = v;
                    break;
                case "wchar":
                    wchar = v;
                    break;
                case "read_bytes":
                    readBytes = v;
                    break;
                case "write_bytes":
                    writeBytes = v;
                    break;
            }
        }
        return new IoCounters(rchar, wchar, readBytes, writeBytes);
    }
}

/// <summary>Page-cache control for the cold-cache runs: <c>sync; echo 3 &gt; /proc/sys/vm/drop_caches</c> (root only).</summary>
internal static class PageCache
{
    private static bool? _canDrop;

    /// <summary>Whether dropping caches works here (tried once).</summary>
    public static bool CanDrop
    {
        get
        {
            _canDrop ??= TryDrop(level: 1);
            return _canDrop.Value;
        }
    }

    /// <summary>Writes dirty pages back, then drops the page cache, dentries and inodes of the whole machine.</summary>
    public static void Drop()
    {
        if (!TryDrop(level: 3))
        {
            throw new InvalidOperationException("could not drop the page cache (/proc/sys/vm/drop_caches)");
        }
    }

    private static bool TryDrop(int level)
    {
        try
        {
            NativeMethods.sync();
            File.WriteAllText("/proc/sys/vm/drop_caches", level.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Reads a file through once (8 MiB reads) so that a warm run finds it in the page cache, as far as it fits.</summary>
    public static void Prime(string path)
    {
        byte[] buffer = new byte[8 * 1024 * 1024];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        while (fs.Read(buffer, 0, buffer.Length) > 0)
        {
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        public static extern void sync();
    }
}

/// <summary>Peak memory of this process: VmHWM (peak resident set) from /proc/self/status, resettable through clear_refs.</summary>
internal static class PeakMemory
{
    /// <summary>Resets the kernel's peak-RSS mark to the current RSS (Linux 4.0+). Returns false if not possible.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>(current RSS, peak RSS since the last reset) in bytes, from /proc/self/status.</summary>
    public static (long Rss, long Peak) Read()
    {
        long rss = 0, hwm = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kb(line);
                }
            }
        }
        catch (IOException)
        {
            using Process p = Process.GetCurrentProcess();
            return (p.WorkingSet64, p.PeakWorkingSet64);
        }
        return (rss, hwm);
    }

    private static long Kb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
