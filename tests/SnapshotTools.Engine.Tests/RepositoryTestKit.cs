using SnapshotTools.Engine.Repository;
using SnapshotTools.Engine.Storage;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Shared set-up of the backup repository tests: a temporary folder that removes itself, a small source volume (4 KiB
/// chunks, in memory) with a history of snapshots, and byte-level readers of snapshots, restored volumes and images.
/// </summary>
internal sealed class RepositoryTestKit : IDisposable
{
    public const int C = 4096;

    public RepositoryTestKit()
    {
        Root = Path.Combine(Path.GetTempPath(), "st-repo-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string RepositoryPath => Path.Combine(Root, "repo");

    public string PathFor(string name) => Path.Combine(Root, name);

    /// <summary>Options that make many small records and run on one core, so progress and cancellation come early.</summary>
    public static DeltaStreamOptions SmallRecords(StreamCompression compression = StreamCompression.None) =>
        new() { Compression = compression, RecordDataSize = C, Parallelism = 1 };

    /// <summary>A 48-chunk volume plus a partial chunk, with data, zeros and a never-written tail.</summary>
    public static Volume Source(int seed = 7)
    {
        var rng = new Random(seed);
        var v = Volume.Create(new MemoryStorage("source-" + seed), new VolumeCreateOptions { Size = 48 * C + 1000, ChunkSize = C, Name = "db01" });
        byte[] data = new byte[30 * C];
        rng.NextBytes(data);
        v.Write(0, data);
        v.WriteZeroes(32 * C, 3 * C);
        return v;
    }

    /// <summary>Changes a few chunks (some rewritten again and again), discards one and zeroes one.</summary>
    public static void Mutate(Volume v, Random rng)
    {
        byte[] hot = new byte[4 * C];
        rng.NextBytes(hot);
        v.Write(2 * C, hot); // the same hot region every time: superseded by each newer backup
        for (int i = 0; i < 3; i++)
        {
            byte[] d = new byte[rng.Next(1, 2 * C)];
            rng.NextBytes(d);
            v.Write(rng.Next(0, (int)(v.Size - d.Length)), d);
        }
        v.Discard(rng.Next(10, 20) * C, C);
        v.WriteZeroes(rng.Next(20, 28) * C, C);
    }

    public static byte[] ReadSnapshot(Volume v, string nameOrId)
    {
        SnapshotInfo s = v.GetSnapshot(nameOrId);
        byte[] b = new byte[s.Size];
        v.ReadSnapshot(s, 0, b);
        return b;
    }

    public static byte[] ReadRestored(string volumeDirectory, string snapshot)
    {
        using Volume v = Volume.Open(volumeDirectory);
        return ReadSnapshot(v, snapshot);
    }

    /// <summary>Builds, on <paramref name="source"/>, snapshots s1..sN with changes between them, and backs them up: a full, then incrementals.</summary>
    public static List<BackupInfo> BackUpHistory(BackupRepository repo, Volume source, int count, int seed = 3, DeltaStreamOptions? options = null)
    {
        var rng = new Random(seed);
        var backups = new List<BackupInfo>();
        int first = source.Snapshots.Count + 1;
        for (int i = first; i < first + count; i++)
        {
            if (i > first)
            {
                Mutate(source, rng);
            }
            source.CreateSnapshot("s" + i);
            backups.Add(i == first
                ? repo.Export(source, null, "s" + i, options)
                : repo.Export(source, "s" + (i - 1), "s" + i, options));
        }
        return backups;
    }

    public static void FlipByte(string path, long offset)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        int b = fs.ReadByte();
        fs.Position = offset;
        fs.WriteByte((byte)(b ^ 0x5A));
    }

    /// <summary>The file offsets of each catalog record's body, in catalog order.</summary>
    public static List<(long Offset, int Length)> CatalogBodies(string catalogPath)
    {
        byte[] file = File.ReadAllBytes(catalogPath);
        var result = new List<(long, int)>();
        int pos = 64;
        while (pos + 16 <= file.Length)
        {
            int length = BitConverter.ToInt32(file, pos + 4);
            result.Add((pos + 16, length));
            pos += 16 + length;
        }
        return result;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (unlike <see cref="Progress{T}"/>).</summary>
internal sealed class SyncProgress : IProgress<OperationProgress>
{
    private readonly Action<OperationProgress> _report;

    public SyncProgress(Action<OperationProgress> report) => _report = report;

    public int Reports { get; private set; }

    public void Report(OperationProgress value)
    {
        Reports++;
        _report(value);
    }
}
