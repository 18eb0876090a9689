using System.Buffers.Binary;
using System.Diagnostics;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Format;
using static SnapshotTools.Bench.Units;

namespace SnapshotTools.Bench;

/// <summary>
/// Where the time of copy-on-write went: store format 1's I/O sequence (ordinal-addressed store, one append per chunk,
/// before the batched appends and the background drain) for a 1 MiB write over 16 unpreserved 64 KiB chunks
/// (see Volume.PreserveBatch / PreservationLog.Append / Flush), replayed with plain files, with and without parts of
/// it, next to plain writes in the same repetitions. Not the engine: a model to tell the engine owner which part of
/// the cost is the per-batch fsync and what some alternatives would buy.
/// </summary>
internal static class CowModel
{
    private const int Chunk = (int)(64 * KiB);
    private const int Io = (int)MiB;
    private const int ChunksPerIo = Io / Chunk;

    private enum Sync
    {
        /// <summary>What the engine does: fsync the data file, then fsync the index file, after each batch.</summary>
        FsyncPair,
        /// <summary>No per-batch sync at all (only the final flush): not crash-safe, shows the bound.</summary>
        None,
        /// <summary>One fsync per batch of the single file holding data and records.</summary>
        OneFsync,
        /// <summary>One fdatasync per batch of the single file holding data and records.</summary>
        OneDataSync,
        /// <summary>One fsync pair per group of batches; the live writes of the group are issued after it.</summary>
        Group,
        /// <summary>Not a model: the engine itself (Volume.Write after CreateSnapshot), measured in the same repetitions.</summary>
        Engine,
    }

    /// <param name="Label">What the variant does.</param>
    /// <param name="Sync">The per-batch durability step.</param>
    /// <param name="Preallocated">Data and records in one file preallocated (written once) beforehand, overwritten in place, instead of two files appended to.</param>
    /// <param name="Group">Batches per group commit.</param>
    private sealed record Variant(string Label, Sync Sync, bool Preallocated = false, int Group = 0);

    public static void Run(Config c, Report report)
    {
        long region = c.ModelRegion;
        Console.WriteLine($"[2m] Copy-on-write cost model (plain files replaying store format 1's I/O; M0 is today's engine): {Bytes(region)} region, 1 MiB writes, {c.RepsModel} reps");
        string dir = Path.Combine(c.Root, "model");
        Directory.CreateDirectory(dir);
        byte[] buffer = Throughput.RandomBuffer(Io, 4);
        byte[] old = new byte[Io];
        var variants = new[]
        {
            new Variant("M0 the engine itself: Volume.Write, first write after a snapshot (same reps as the models)", Sync.Engine),
            new Variant("M1 format 1's I/O: per chunk read 64 KiB + CRC + append 64 KiB + append 32 B record; fsync data + fsync index per 1 MiB write; then the live write", Sync.FsyncPair),
            new Variant("M2 M1 without the per-batch fsyncs (not crash-safe: the bound for M1's layout)", Sync.None),
            new Variant("M3 M1's I/O into one preallocated file (data + records, overwritten in place), one fsync per 1 MiB", Sync.OneFsync, true),
            new Variant("M4 M3 with fdatasync instead of fsync", Sync.OneDataSync, true),
            new Variant("M5 M3's layout without per-batch sync (bound for M3/M4)", Sync.None, true),
            new Variant("M6 M1 with one fsync pair per 64 MiB (group commit), live writes held back until it", Sync.Group, false, 64),
        };
        var results = variants.ToDictionary(v => v, _ => new Throughput.Series { Bytes = region });
        var plainFor = variants.ToDictionary(v => v, _ => new Throughput.Series { Bytes = region });
        using (Volume volume = Volume.Create(Path.Combine(dir, "vol"), new VolumeCreateOptions { Size = region }))
        using (PlainFile live = PlainFile.CreatePreallocated(Path.Combine(dir, "live.dat"), region, buffer))
        using (PlainFile plain = PlainFile.CreatePreallocated(Path.Combine(dir, "plain.dat"), region, buffer))
        using (PlainFile data = PlainFile.CreateEmpty(Path.Combine(dir, "snap.dat")))
        using (PlainFile index = PlainFile.CreateEmpty(Path.Combine(dir, "snap.idx")))
        using (PlainFile combined = PlainFile.CreatePreallocated(Path.Combine(dir, "snap-prealloc.dat"), region + region / Chunk * 32 + 64, buffer))
        {
            Throughput.Pass(volume.Write, volume.Flush, region, buffer, Io, Io);
            var files = new Files(volume, live, data, index, combined);
            foreach (Variant v in variants)
            {
                RunOnce(v, files, Math.Min(region, 8 * MiB), buffer, old); // JIT warm-up
            }
            Throughput.Pass(plain.Write, plain.Flush, region, buffer, Io, Io);
            for (int r = 0; r < c.RepsModel; r++)
            {
                // Each variant is paired with a plain pass just before it, in an order that alternates per rep.
                foreach (Variant v in r % 2 == 0 ? variants : variants.Reverse())
                {
                    plainFor[v].Add(Throughput.Pass(plain.Write, plain.Flush, region, buffer, Io, Io));
                    results[v].Add(RunOnce(v, files, region, buffer, old));
                }
            }
        }
        Directory.Delete(dir, recursive: true);
        foreach (Variant v in variants)
        {
            Throughput.Print(v.Label[..2], results[v]);
            Throughput.Print(v.Label[..2] + " paired plain", plainFor[v]);
            Throughput.Series s = results[v];
            double ratio = Throughput.Ratio(s, plainFor[v], true);
            double msPerIo = Stats.Median(s.Write) * 1000 / (region / Io);
            report.Add(new Row($"model {v.Label}, incl. final flush", $"{s.MiBps(true):F0} MiB/s", $"{plainFor[v].MiBps(true):F0} MiB/s", $"{ratio:F2}",
                "(analysis)", "", $"{msPerIo:F2} ms per 1 MiB write in the loop"));
        }
    }

    private sealed record Files(Volume Volume, PlainFile Live, PlainFile Data, PlainFile Index, PlainFile Combined);

    private static (double Write, double Flush) RunOnce(Variant v, Files f, long region, byte[] buffer, byte[] old)
    {
        if (v.Sync == Sync.Engine)
        {
            f.Volume.CreateSnapshot("model");
            (double, double) t = Throughput.Pass(f.Volume.Write, f.Volume.Flush, region, buffer, Io, Io);
            f.Volume.DeleteSnapshot("model");
            MachineProbe.SyncFileSystem();
            return t;
        }
        // A fresh snapshot: empty store files (not timed), as CreateSnapshot makes them.
        f.Data.SetLength(0);
        f.Index.SetLength(0);
        f.Index.Write(0, new byte[64]);
        f.Data.Flush();
        f.Index.Flush();
        MachineProbe.SyncFileSystem();
        bool combined = v.Preallocated;
        PlainFile dataFile = combined ? f.Combined : f.Data;
        PlainFile indexFile = combined ? f.Combined : f.Index;
        long indexBase = combined ? region + 64 : 64;
        Span<byte> record = stackalloc byte[32];
        var held = new List<long>();
        long ordinal = 0;
        long t0 = Stopwatch.GetTimestamp();
        for (long off = 0; off + Io <= region; off += Io)
        {
            for (int k = 0; k < ChunksPerIo; k++)
            {
                Span<byte> chunk = old.AsSpan(k * Chunk, Chunk);
                f.Live.Read(off + (long)k * Chunk, chunk);
                uint crc = Crc32C.Compute(chunk);
                dataFile.Write(ordinal * Chunk, chunk);
                record.Clear();
                BinaryPrimitives.WriteInt64LittleEndian(record, off / Chunk + k);
                BinaryPrimitives.WriteInt64LittleEndian(record.Slice(8), ordinal);
                record[16] = 1;
                BinaryPrimitives.WriteUInt32LittleEndian(record.Slice(20), crc);
                BinaryPrimitives.WriteUInt32LittleEndian(record.Slice(28), Crc32C.Compute(record.Slice(0, 28)));
                indexFile.Write(indexBase + ordinal * 32, record);
                ordinal++;
            }
            switch (v.Sync)
            {
                case Sync.FsyncPair:
                    f.Data.Flush();
                    f.Index.Flush();
                    break;
                case Sync.OneFsync:
                    f.Combined.Flush();
                    break;
                case Sync.OneDataSync:
                    f.Combined.DataSync();
                    break;
            }
            if (v.Sync == Sync.Group)
            {
                held.Add(off);
                if (held.Count == v.Group)
                {
                    ReleaseHeld(f, held, buffer);
                }
            }
            else
            {
                f.Live.Write(off, buffer);
            }
        }
        if (held.Count > 0)
        {
            ReleaseHeld(f, held, buffer);
        }
        long t1 = Stopwatch.GetTimestamp();
        f.Live.Flush();
        dataFile.Flush();
        if (!combined)
        {
            indexFile.Flush();
        }
        long t2 = Stopwatch.GetTimestamp();
        return (Stats.Seconds(t0, t1), Stats.Seconds(t1, t2));
    }

    private static void ReleaseHeld(Files f, List<long> held, byte[] buffer)
    {
        f.Data.Flush();
        f.Index.Flush();
        foreach (long off in held)
        {
            f.Live.Write(off, buffer);
        }
        held.Clear();
    }
}
