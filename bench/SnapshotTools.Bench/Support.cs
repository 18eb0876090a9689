using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SnapshotTools.Engine.Storage;

namespace SnapshotTools.Bench;

/// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>: the engine or a plain file behind one shape.</summary>
internal delegate void WriteFn(long offset, ReadOnlySpan<byte> data);

internal static class Units
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;
    public const long TiB = 1024 * GiB;

    public static string Bytes(long n) => n switch
    {
        >= TiB when n % TiB == 0 => $"{n / TiB} TiB",
        >= GiB when n % GiB == 0 => $"{n / GiB} GiB",
        >= MiB when n % MiB == 0 => $"{n / MiB} MiB",
        >= KiB when n % KiB == 0 => $"{n / KiB} KiB",
        >= GiB => $"{n / (double)GiB:F2} GiB",
        >= MiB => $"{n / (double)MiB:F1} MiB",
        _ => $"{n} B",
    };

    /// <summary>A byte count in the largest unit that keeps it above 1, with up to two decimals (issue-3 output).</summary>
    public static string Size(long n) => n switch
    {
        >= TiB => $"{n / (double)TiB:0.##} TiB",
        >= GiB => $"{n / (double)GiB:0.##} GiB",
        >= MiB => $"{n / (double)MiB:0.#} MiB",
        >= KiB => $"{n / (double)KiB:0} KiB",
        _ => $"{n} B",
    };

    public static long ParseBytes(string s)
    {
        s = s.Trim();
        long mul = 1;
        char last = char.ToUpperInvariant(s[^1]);
        if (last is 'K' or 'M' or 'G' or 'T')
        {
            mul = last switch { 'K' => KiB, 'M' => MiB, 'G' => GiB, _ => TiB };
            s = s[..^1];
        }
        return long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) * mul;
    }
}

internal static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        double[] a = values.ToArray();
        Array.Sort(a);
        int n = a.Length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    public static double Seconds(long startTimestamp, long endTimestamp) =>
        (endTimestamp - startTimestamp) / (double)Stopwatch.Frequency;

    public static string List(IEnumerable<double> values, string format) =>
        string.Join(" ", values.Select(v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>The baseline: a preallocated file written with <see cref="RandomAccess.Write(SafeFileHandle, ReadOnlySpan{byte}, long)"/>,
/// opened and flushed exactly as the engine opens and flushes its live file (FileOptions.RandomAccess; fsync through an
/// unbuffered FileStream over the same handle).</summary>
internal sealed class PlainFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly FileStream _flusher;

    private PlainFile(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
        _flusher = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
    }

    public string Path { get; }

    public SafeFileHandle Handle => _handle;

    /// <summary>Creates the file and writes every byte of it once (then fsyncs), so later writes overwrite allocated blocks.</summary>
    public static PlainFile CreatePreallocated(string path, long length, byte[] fill)
    {
        PlainFile f = CreateEmpty(path);
        for (long off = 0; off < length; off += fill.Length)
        {
            int n = (int)Math.Min(fill.Length, length - off);
            f.Write(off, fill.AsSpan(0, n));
        }
        f.Flush();
        return f;
    }

    public static PlainFile CreateEmpty(string path)
    {
        SafeFileHandle h = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
        return new PlainFile(path, h);
    }

    public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(_handle, data, offset);

    public int Read(long offset, Span<byte> buffer) => RandomAccess.Read(_handle, buffer, offset);

    public void SetLength(long length) => RandomAccess.SetLength(_handle, length);

    /// <summary>fsync, as the engine does it.</summary>
    public void Flush() => _flusher.Flush(flushToDisk: true);

    /// <summary>fdatasync (Linux), for the what-if models; falls back to fsync elsewhere.</summary>
    public void DataSync()
    {
        if (OperatingSystem.IsLinux())
        {
            if (NativeMethods.fdatasync((int)_handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        else
        {
            Flush();
        }
    }

    public void Dispose()
    {
        _flusher.Dispose();
        _handle.Dispose();
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);
    }
}

/// <summary>
/// Benchmark set-up only: the engine's own files on the local file system with fsync turned off until
/// <see cref="Durable"/> is set. File contents are exactly what the engine writes; only the waits for the disk are
/// skipped while a large test volume is being built. Set <see cref="Durable"/> before the final Dispose so the volume
/// is closed with real fsyncs.
/// </summary>
internal sealed class SetupStorage : IStorage
{
    private readonly FileSystemStorage _inner;

    public SetupStorage(string directory)
    {
        _inner = new FileSystemStorage(directory, create: true);
    }

    public bool Durable { get; set; }

    public long SkippedFlushes;

    public string Location => _inner.Location;

    public bool Exists(string name) => _inner.Exists(name);

    public IStorageFile Open(string name, bool create) => new File(this, _inner.Open(name, create));

    public void Delete(string name) => _inner.Delete(name);

    public IReadOnlyList<string> List() => _inner.List();

    public IDisposable? TryLock() => _inner.TryLock();

    public void Dispose() => _inner.Dispose();

    private sealed class File : IStorageFile
    {
        private readonly SetupStorage _owner;
        private readonly IStorageFile _inner;

        public File(SetupStorage owner, IStorageFile inner)
        {
            _owner = owner;
            _inner = inner;
        }

        public long Length => _inner.Length;

        public void SetLength(long length) => _inner.SetLength(length);

        public void Read(long offset, Span<byte> buffer) => _inner.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => _inner.Write(offset, data);

        public void Flush()
        {
            if (_owner.Durable)
            {
                _inner.Flush();
            }
            else
            {
                Interlocked.Increment(ref _owner.SkippedFlushes);
            }
        }

        public void Dispose() => _inner.Dispose();
    }
}

/// <summary>One line of the final table. <see cref="Group"/> picks the table (issue 2: engine vs plain file; issue 3:
/// engine vs a baseline or peer).</summary>
internal sealed record Row(string Measurement, string Engine, string Plain, string Ratio, string Goal, string Met, string Detail)
{
    public string Group { get; init; } = Report.Issue2;
}

internal sealed class Report
{
    public List<Row> Rows { get; } = new();

    public List<string> Notes { get; } = new();

    public void Add(Row row)
    {
        Rows.Add(row);
        Console.WriteLine($"  => {row.Measurement}: engine {row.Engine} | plain {row.Plain} | ratio {row.Ratio} | goal {row.Goal} {row.Met}");
        if (!string.IsNullOrEmpty(row.Detail))
        {
            Console.WriteLine($"     {row.Detail}");
        }
    }

    public void Note(string text)
    {
        Notes.Add(text);
        Console.WriteLine("  note: " + text);
    }

    public const string Issue2 = "issue2";

    public const string Issue3 = "issue3";

    public void PrintMarkdown(TextWriter w)
    {
        foreach (string group in Rows.Select(r => r.Group).Distinct())
        {
            w.WriteLine(group == Issue3
                ? "| Measurement | Engine | Baseline / peer | Ratio (median of paired reps) | Goal | Met |"
                : "| Measurement | Engine | Plain file | Ratio (median of paired reps) | Goal | Met |");
            w.WriteLine("|---|---|---|---|---|---|");
            foreach (Row r in Rows.Where(r => r.Group == group))
            {
                w.WriteLine($"| {r.Measurement} | {r.Engine} | {r.Plain} | {r.Ratio} | {r.Goal} | {r.Met} |");
            }
            w.WriteLine();
        }
        foreach (Row r in Rows.Where(r => !string.IsNullOrEmpty(r.Detail)))
        {
            w.WriteLine($"- {r.Measurement}: {r.Detail}");
        }
        foreach (string n in Notes)
        {
            w.WriteLine($"- {n}");
        }
    }
}

/// <summary>The state of the machine when the figures were taken (fsync latency, load), and settling it between passes.</summary>
internal static class MachineProbe
{
    /// <summary>
    /// sync(2), between timed passes (never inside one): commits the file system journal, so the blocks that the
    /// previous pass freed by deleting or truncating files are released before the next pass starts.
    /// </summary>
    public static void SyncFileSystem()
    {
        if (OperatingSystem.IsLinux())
        {
            NativeMethods.sync();
        }
    }

    /// <summary>Two full, compacting collections around the finalizers: the GC heap at rest before a memory reading.</summary>
    public static void CollectGarbage()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>
    /// Runs this benchmark again as a child process with <paramref name="args"/> and returns what follows
    /// <c>PROBE </c> on its output, or null (said on the console) when it failed.
    /// </summary>
    public static string? RunChildProbe(IEnumerable<string> args)
    {
        string? exe = Environment.ProcessPath;
        if (exe == null)
        {
            return null;
        }
        var psi = new ProcessStartInfo { FileName = exe, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            psi.ArgumentList.Add(typeof(MachineProbe).Assembly.Location);
        }
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process? p = Process.Start(psi);
        if (p == null)
        {
            return null;
        }
        string output = p.StandardOutput.ReadToEnd();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("PROBE ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line == null)
        {
            Console.WriteLine($"    child probe failed (exit {p.ExitCode}): {errors.Trim()}");
            return null;
        }
        return line["PROBE ".Length..].Trim();
    }

    /// <summary>Median and 90th percentile of (append 64 KiB + fsync) on a fresh file, in ms.</summary>
    public static (double Median, double P90) FsyncLatency(string dir, int count = 100)
    {
        string path = Path.Combine(dir, "fsync-probe.dat");
        byte[] data = new byte[64 * 1024];
        new Random(9).NextBytes(data);
        var times = new List<double>();
        using (PlainFile f = PlainFile.CreateEmpty(path))
        {
            for (int i = 0; i < count; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                f.Write((long)i * data.Length, data);
                f.Flush();
                times.Add(Stats.Seconds(t0, Stopwatch.GetTimestamp()) * 1000);
            }
        }
        System.IO.File.Delete(path);
        times.Sort();
        return (Stats.Median(times), times[(int)(times.Count * 0.9)]);
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(" ", System.IO.File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static string Describe(string dir)
    {
        (double median, double p90) = FsyncLatency(dir);
        return $"fsync latency (append 64 KiB + fsync) median {median:F2} ms, p90 {p90:F2} ms; load average {LoadAverage()}";
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        public static extern void sync();
    }
}
