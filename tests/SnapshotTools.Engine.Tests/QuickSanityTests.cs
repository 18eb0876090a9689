using SnapshotTools.Engine.Storage;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public class QuickSanityTests
{
    private const int C = 4096;

    private static byte[] Block(char letter, int version)
    {
        var b = new byte[C];
        Array.Fill(b, (byte)(letter + version * 2));
        return b;
    }

    [Fact]
    public void ScenarioA_ReadsAndDiffs()
    {
        using var v = Volume.Create(new MemoryStorage(), new VolumeCreateOptions { Size = 8 * C, ChunkSize = C });
        for (int i = 0; i < 8; i++) v.Write(i * C, Block((char)('A' + i), 0));
        v.CreateSnapshot("S1");
        v.Write(1 * C, Block('B', 1)); v.Write(1 * C, Block('B', 2)); v.Write(3 * C, Block('D', 1));
        v.CreateSnapshot("S2");
        v.Write(3 * C, Block('D', 2)); v.Write(5 * C, Block('F', 1));
        v.CreateSnapshot("S3");
        v.Write(6 * C, Block('G', 1));
        v.CreateSnapshot("S4");
        v.Write(0, Block('A', 1));
        var buf = new byte[C];
        v.ReadSnapshot("S2", 3 * C, buf);
        Assert.Equal(Block('D', 1), buf);
        v.ReadSnapshot("S1", 1 * C, buf);
        Assert.Equal(Block('B', 0), buf);
        var d = v.GetDelta("S1", "S3").ToList();
        Assert.Equal(new[] { new DeltaExtent(1 * C, C, ExtentKind.Data), new DeltaExtent(3 * C, C, ExtentKind.Data), new DeltaExtent(5 * C, C, ExtentKind.Data) }, d);
    }
}
