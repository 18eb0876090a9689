using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace SnapshotTools.Engine.Format;

/// <summary>CRC-32C (Castagnoli) over spans, using the processor's CRC32 instruction through <see cref="BitOperations"/>.</summary>
public static class Crc32C
{
    /// <summary>Computes the CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC-32C: <c>Append(Compute(a), b) == Compute(a + b)</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
        {
            state = BitOperations.Crc32C(state, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        }
        for (int i = words.Length * 8; i < data.Length; i++)
        {
            state = BitOperations.Crc32C(state, data[i]);
        }
        return ~state;
    }
}
