using System.Text;
using SnapshotTools.Engine.Storage;
using Xunit;
using Xunit.Sdk;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// Randomized model-based tests (issue 2): random sequences of writes (unaligned too), discards, zero writes,
/// snapshot create / delete (oldest, middle, newest) / rename, rollbacks, resizes (grow and shrink, sizes not a
/// multiple of the chunk size), protection map changes and close/reopen, checked against <see cref="VolumeModel"/>:
/// the live bytes, every snapshot's full bytes, and every pairwise delta (snapshot to snapshot and snapshot to live)
/// both applied onto the older image and checked for coverage of every changed byte.
/// </summary>
/// <remarks>
/// Each theory case is one fixed seed running many sequences, so a failure names the seed, the sequence and the
/// operation log that reproduce it.
/// </remarks>
public class ModelBasedTests
{
    private const int SequencesPerSeed = 80;

    public static IEnumerable<object[]> Seeds => Enumerable.Range(1, 20).Select(i => new object[] { 1000 + i });

    public static IEnumerable<object[]> ProtectionSeeds =>
        Enumerable.Range(1, 8).SelectMany(i => new[]
        {
            new object[] { 2000 + i, ProtectionMode.PreserveAndFilter },
            new object[] { 3000 + i, ProtectionMode.DoNotPreserve },
        });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomSequencesMatchTheModel(int seed)
    {
        for (int s = 0; s < SequencesPerSeed; s++)
        {
            var rng = new Random(seed * 7919 + s);
            var options = new GeneratorOptions
            {
                MaxChunks = rng.Next(2) == 0 ? 16 : rng.Next(8, 65),
                SectorAligned = rng.Next(4) == 0,
            };
            RunSequence(seed, s, rng, options, ProtectionMode.PreserveAndFilter, steps: rng.Next(10, 40));
        }
    }

    [Theory]
    [MemberData(nameof(ProtectionSeeds))]
    public void RandomSequencesWithProtectionMapsMatchTheModel(int seed, ProtectionMode mode)
    {
        for (int s = 0; s < SequencesPerSeed; s++)
        {
            var rng = new Random(seed * 7919 + s);
            var options = new GeneratorOptions
            {
                MaxChunks = rng.Next(8, 33),
                Protection = true,
                SectorAligned = rng.Next(4) == 0,
            };
            RunSequence(seed, s, rng, options, mode, steps: rng.Next(10, 40));
        }
    }

    [Theory]
    [InlineData(4001)]
    [InlineData(4002)]
    [InlineData(4003)]
    [InlineData(4004)]
    public void RandomSequencesWithLargerChunksMatchTheModel(int seed)
    {
        for (int s = 0; s < SequencesPerSeed / 2; s++)
        {
            var rng = new Random(seed * 7919 + s);
            var options = new GeneratorOptions
            {
                ChunkSize = 16 * 1024,
                MaxChunks = rng.Next(4, 17),
                Protection = rng.Next(2) == 0,
            };
            RunSequence(seed, s, rng, options, ProtectionMode.PreserveAndFilter, steps: rng.Next(10, 40));
        }
    }

    /// <summary>Runs one random sequence against a fresh volume on <see cref="MemoryStorage"/>, checking as it goes.</summary>
    internal static void RunSequence(int seed, int sequence, Random rng, GeneratorOptions options, ProtectionMode mode, int steps)
    {
        var gen = new OpGenerator(rng, options);
        long size = gen.NextSize();
        var log = new StringBuilder();
        log.AppendLine($"Volume.Create(Size={size}, ChunkSize={options.ChunkSize}, ProtectionMode={mode})");
        var storage = new MemoryStorage();
        Volume volume = Volume.Create(storage, new VolumeCreateOptions { Size = size, ChunkSize = options.ChunkSize, ProtectionMode = mode });
        volume.WriteBackLimit = VolumeModel.WriteBackFor(seed + sequence, options.ChunkSize);
        log.AppendLine($"WriteBackLimit={volume.WriteBackLimit}");
        var model = new VolumeModel(size);
        try
        {
            for (int step = 0; step < steps; step++)
            {
                ModelOp op = gen.Next(model);
                log.AppendLine($"  [{step}] {op}");
                SnapshotInfo? info = EngineOps.Apply(ref volume, storage, op);
                model.Apply(op);
                if (info != null)
                {
                    model.Snapshots[^1].Id = info.Id;
                    if (info.Size != model.Size || info.Name != op.Name)
                    {
                        throw new ModelMismatchException($"CreateSnapshot returned {info}, model size {model.Size}");
                    }
                }
                if (op.Kind == ModelOpKind.Reopen && !volume.Recovery.WasCleanShutdown)
                {
                    throw new ModelMismatchException("a volume closed with Dispose() reopened as not cleanly shut down");
                }
                bool full = step % 4 == 3 || step == steps - 1 || op.Kind is ModelOpKind.Rollback or ModelOpKind.DeleteSnapshot;
                ModelCheck.All(volume, model, deltas: full);
            }
        }
        catch (Exception ex) when (ex is not XunitException)
        {
            throw new XunitException($"Seed {seed}, sequence {sequence}: {ex.Message}\nOperation log:\n{log}\n{ex}");
        }
        finally
        {
            volume.Dispose();
        }
    }
}
