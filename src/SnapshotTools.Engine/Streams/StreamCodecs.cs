using System.IO.Compression;
using System.Runtime.InteropServices;

namespace SnapshotTools.Engine.Streams;

/// <summary>Compression of DATA record payloads: the BCL's deflate and brotli, and zstd through the system libzstd when present.</summary>
internal static class StreamCodecs
{
    /// <summary>Gets whether libzstd could be loaded on this machine.</summary>
    public static bool ZstdAvailable => Zstd.Available;

    /// <summary>Compresses <paramref name="input"/>; returns null when the result would not be smaller.</summary>
    public static byte[]? Compress(StreamCompression codec, int level, ReadOnlySpan<byte> input)
    {
        switch (codec)
        {
            case StreamCompression.None:
                return null;
            case StreamCompression.Deflate:
            {
                using var ms = new MemoryStream(input.Length / 2 + 64);
                using (var z = new DeflateStream(ms, level <= 1 ? CompressionLevel.Fastest : level >= 9 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal, leaveOpen: true))
                {
                    z.Write(input);
                }
                return ms.Length < input.Length ? ms.ToArray() : null;
            }
            case StreamCompression.Brotli:
            {
                byte[] output = new byte[BrotliEncoder.GetMaxCompressedLength(input.Length)];
                if (BrotliEncoder.TryCompress(input, output, out int written, Math.Clamp(level, 0, 11), 22) && written < input.Length)
                {
                    return output.AsSpan(0, written).ToArray();
                }
                return null;
            }
            case StreamCompression.Zstd:
                return Zstd.Compress(input, level);
            default:
                throw new ArgumentOutOfRangeException(nameof(codec));
        }
    }

    /// <summary>Decompresses exactly <c>output.Length</c> bytes.</summary>
    /// <exception cref="InvalidDataException">The payload does not decompress to the expected length.</exception>
    public static void Decompress(StreamCompression codec, ReadOnlySpan<byte> input, Span<byte> output)
    {
        switch (codec)
        {
            case StreamCompression.Deflate:
            {
                unsafe
                {
                    fixed (byte* p = input)
                    {
                        using var source = new UnmanagedMemoryStream(p, input.Length);
                        using var z = new DeflateStream(source, CompressionMode.Decompress);
                        int total = 0;
                        while (total < output.Length)
                        {
                            int n = z.Read(output.Slice(total));
                            if (n == 0)
                            {
                                throw new InvalidDataException("compressed payload is shorter than its length");
                            }
                            total += n;
                        }
                        Span<byte> extra = stackalloc byte[1];
                        if (z.Read(extra) != 0)
                        {
                            throw new InvalidDataException("compressed payload is longer than its length");
                        }
                    }
                }
                return;
            }
            case StreamCompression.Brotli:
                if (!BrotliDecoder.TryDecompress(input, output, out int written) || written != output.Length)
                {
                    throw new InvalidDataException("brotli payload does not decompress to its length");
                }
                return;
            case StreamCompression.Zstd:
                Zstd.Decompress(input, output);
                return;
            default:
                throw new InvalidDataException($"records are marked compressed but the stream's compression is {codec}");
        }
    }

    /// <summary>P/Invoke to the system's libzstd (Debian libzstd1); never a hard dependency.</summary>
    private static class Zstd
    {
        private static readonly Lazy<bool> s_available = new(Probe);

        public static bool Available => s_available.Value;

        public static byte[]? Compress(ReadOnlySpan<byte> input, int level)
        {
            EnsureAvailable();
            nuint bound = Native.ZSTD_compressBound((nuint)input.Length);
            byte[] output = new byte[(int)bound];
            nuint n;
            unsafe
            {
                fixed (byte* src = input)
                fixed (byte* dst = output)
                {
                    n = Native.ZSTD_compress(dst, bound, src, (nuint)input.Length, Math.Max(1, level));
                }
            }
            if (Native.ZSTD_isError(n) != 0)
            {
                throw new InvalidOperationException("zstd compression failed");
            }
            return (int)n < input.Length ? output.AsSpan(0, (int)n).ToArray() : null;
        }

        public static void Decompress(ReadOnlySpan<byte> input, Span<byte> output)
        {
            EnsureAvailable();
            nuint n;
            unsafe
            {
                fixed (byte* src = input)
                fixed (byte* dst = output)
                {
                    n = Native.ZSTD_decompress(dst, (nuint)output.Length, src, (nuint)input.Length);
                }
            }
            if (Native.ZSTD_isError(n) != 0 || (int)n != output.Length)
            {
                throw new InvalidDataException("zstd payload does not decompress to its length");
            }
        }

        private static void EnsureAvailable()
        {
            if (!Available)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument,
                    "zstd compression needs the system library libzstd (Debian: libzstd1), which is not installed; use deflate or brotli.");
            }
        }

        private static bool Probe()
        {
            try
            {
                return Native.ZSTD_versionNumber() > 0;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                return false;
            }
        }

        private static unsafe class Native
        {
            private const string Lib = "libzstd.so.1";

            [DllImport(Lib)]
            public static extern uint ZSTD_versionNumber();

            [DllImport(Lib)]
            public static extern nuint ZSTD_compressBound(nuint srcSize);

            [DllImport(Lib)]
            public static extern nuint ZSTD_compress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level);

            [DllImport(Lib)]
            public static extern nuint ZSTD_decompress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

            [DllImport(Lib)]
            public static extern uint ZSTD_isError(nuint code);
        }
    }
}
