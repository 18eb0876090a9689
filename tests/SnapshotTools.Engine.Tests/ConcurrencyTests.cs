using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>Many readers and writers at once, with snapshots taken meanwhile: snapshots stay exact.</summary>
public class ConcurrencyTests
{
    private const int C = 4096;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ConcurrentWritersOnDisjointChunksAndSnapshotReadersSeeExactSnapshots(int seed)
    {
        const int Chunks = 64;
        const int Writers = 4;
        string dir = Path.Combine(Path.GetTempPath(), "st-conc-" + Guid.NewGuid().ToString("N"));
        try
        {
            using Volume v = Volume.Create(dir, new VolumeCreateOptions { Size = Chunks * C, ChunkSize = C });
            v.WriteBackLimit = VolumeModel.WriteBackFor(seed, C);
            // Each writer owns the chunks c with c % Writers == id and writes a stamp (round number) into them.
            var stamps = new int[Chunks];
            var snapshotStamps = new List<(string Name, int[] Stamps)>();
            using var stop = new CancellationTokenSource();
            var gate = new ReaderWriterLockSlim();
            var errors = new List<Exception>();
            var threads = new List<Thread>();
            for (int w = 0; w < Writers; w++)
            {
                int id = w;
                threads.Add(new Thread(() =>
                {
                    var rng = new Random(seed * 100 + id);
                    byte[] data = new byte[C];
                    try
                    {
                        for (int round = 1; round <= 150; round++)
                        {
                            int c = rng.Next(Chunks / Writers) * Writers + id;
                            gate.EnterReadLock();
                            try
                            {
                                Array.Fill(data, (byte)round);
                                v.Write((long)c * C, data);
                                stamps[c] = round;
                            }
                            finally
                            {
                                gate.ExitReadLock();
                            }
                        }
                    }
                    catch (Exception ex)
                    {
                        lock (errors)
                        {
                            errors.Add(ex);
                        }
                    }
                }));
            }
            var readers = new List<Thread>();
            for (int r = 0; r < 2; r++)
            {
                readers.Add(new Thread(() =>
                {
                    byte[] buf = new byte[C];
                    try
                    {
                        while (!stop.IsCancellationRequested)
                        {
                            (string Name, int[] Stamps)[] snaps;
                            lock (snapshotStamps)
                            {
                                snaps = snapshotStamps.ToArray();
                            }
                            foreach ((string name, int[] expected) in snaps)
                            {
                                for (int c = 0; c < Chunks; c++)
                                {
                                    v.ReadSnapshot(name, (long)c * C, buf);
                                    Assert.True(buf.All(b => b == (byte)expected[c]), $"snapshot {name} chunk {c}: expected stamp {expected[c]}, read {buf[0]}");
                                }
                            }
                        }
                    }
                    catch (Exception ex)
                    {
                        lock (errors)
                        {
                            errors.Add(ex);
                        }
                    }
                }));
            }
            threads.ForEach(t => t.Start());
            readers.ForEach(t => t.Start());
            for (int s = 0; s < 8; s++)
            {
                Thread.Sleep(5);
                // Quiesce writers only for the instant of the snapshot, so the expected stamps are exact.
                gate.EnterWriteLock();
                try
                {
                    string name = "s" + s;
                    v.CreateSnapshot(name);
                    lock (snapshotStamps)
                    {
                        snapshotStamps.Add((name, (int[])stamps.Clone()));
                    }
                }
                finally
                {
                    gate.ExitWriteLock();
                }
            }
            threads.ForEach(t => t.Join());
            stop.Cancel();
            readers.ForEach(t => t.Join());
            Assert.Empty(errors);
            byte[] buffer = new byte[C];
            for (int c = 0; c < Chunks; c++)
            {
                v.Read((long)c * C, buffer);
                Assert.True(buffer.All(b => b == (byte)stamps[c]), $"live chunk {c}");
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
