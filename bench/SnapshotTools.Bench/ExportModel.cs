using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using SnapshotTools.Engine.Format;

namespace SnapshotTools.Bench;

/// <summary>
/// Where the time of an incremental export goes, and what a different pipeline would buy: the work the delta stream
/// writer does for each changed chunk (pread 64 KiB, SHA-256 of the record, CRC-32C of the payload, a framed write,
/// one fsync at the end) replayed on plain files, serial like the engine's writer, or pipelined with 1 or 4 reader
/// threads that read and hash ahead of the thread writing in order. Not the engine, and no stream a reader accepts:
/// a model for the engine owner (like the copy-on-write model of issue 2).
/// </summary>
internal static class ExportModel
{
    private const int Chunk = StreamFixture.ChunkSize;
    private const int Prefix = 12;    // DATA payload: offset u64 + length u32
    private const int Frame = 12;     // type u16, flags u16, length u32, header CRC u32
    private const int Slots = 64;     // 4 MiB in flight

    /// <summary><paramref name="readers"/> = 0: one thread does everything in order (the engine's shape, without its
    /// batching); 1 or more: that many threads read (pread at queue depth <paramref name="readers"/>) and hash ahead
    /// into a ring of 64 chunk buffers while this thread writes them in order.</summary>
    public static StreamExportBench.PassResult Run(string imagePath, long[] chunks, string outPath, int readers)
    {
        IoCounters io0 = IoCounters.Self();
        long t0 = Stopwatch.GetTimestamp();
        using (var h = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess))
        using (var output = new FileStream(outPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024))
        using (var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            if (readers == 0)
            {
                var slot = new Slot();
                foreach (long ch in chunks)
                {
                    slot.Fill(h, ch);
                    slot.WriteTo(output, content);
                }
            }
            else
            {
                Pipelined(h, chunks, output, content, readers);
            }
            output.Flush(flushToDisk: true);
        }
        long t1 = Stopwatch.GetTimestamp();
        return new StreamExportBench.PassResult(Stats.Seconds(t0, t1), IoCounters.Self() - io0, chunks.LongLength * (Chunk + Prefix + Frame + 4));
    }

    private static void Pipelined(Microsoft.Win32.SafeHandles.SafeFileHandle h, long[] chunks, FileStream output, IncrementalHash content, int readers)
    {
        var slots = new Slot[Slots];
        var free = new SemaphoreSlim[Slots];
        var full = new SemaphoreSlim[Slots];
        for (int i = 0; i < Slots; i++)
        {
            slots[i] = new Slot();
            free[i] = new SemaphoreSlim(1);
            full[i] = new SemaphoreSlim(0);
        }
        long next = -1;
        Exception? failure = null;
        var threads = new Thread[readers];
        for (int r = 0; r < readers; r++)
        {
            threads[r] = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        long idx = Interlocked.Increment(ref next);
                        if (idx >= chunks.LongLength)
                        {
                            return;
                        }
                        int s = (int)(idx % Slots);
                        free[s].Wait();
                        slots[s].Fill(h, chunks[idx]);
                        full[s].Release();
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
            }) { IsBackground = true };
            threads[r].Start();
        }
        for (long idx = 0; idx < chunks.LongLength; idx++)
        {
            int s = (int)(idx % Slots);
            while (!full[s].Wait(1000))
            {
                if (failure != null)
                {
                    throw new InvalidOperationException("export model reader failed", failure);
                }
            }
            slots[s].WriteTo(output, content);
            free[s].Release();
        }
        foreach (Thread t in threads)
        {
            t.Join();
        }
    }

    /// <summary>One record: read, digest and CRC computed by whoever fills it; written by the writer.</summary>
    private sealed class Slot
    {
        private readonly byte[] _payload = new byte[Prefix + Chunk];
        private readonly byte[] _digest = new byte[32];
        private readonly byte[] _frame = new byte[Frame];
        private readonly byte[] _crc = new byte[4];

        public void Fill(Microsoft.Win32.SafeHandles.SafeFileHandle h, long chunk)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_payload, chunk * Chunk);
            BinaryPrimitives.WriteInt32LittleEndian(_payload.AsSpan(8), Chunk);
            RandomAccess.Read(h, _payload.AsSpan(Prefix), chunk * Chunk);
            // The record digest: SHA-256 over type, length and payload (as the writer's RecordDigest), then the CRC.
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Span<byte> head = stackalloc byte[10];
            BinaryPrimitives.WriteUInt16LittleEndian(head, 2);
            BinaryPrimitives.WriteInt64LittleEndian(head[2..], _payload.Length);
            sha.AppendData(head);
            sha.AppendData(_payload);
            sha.GetHashAndReset(_digest);
            BinaryPrimitives.WriteUInt32LittleEndian(_crc, Crc32C.Compute(_payload));
            BinaryPrimitives.WriteUInt16LittleEndian(_frame, 2);
            BinaryPrimitives.WriteUInt16LittleEndian(_frame.AsSpan(2), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(_frame.AsSpan(4), (uint)_payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(_frame.AsSpan(8), Crc32C.Compute(_frame.AsSpan(0, 8)));
        }

        public void WriteTo(FileStream output, IncrementalHash content)
        {
            output.Write(_frame);
            output.Write(_payload);
            output.Write(_crc);
            content.AppendData(_digest);
        }
    }
}
