using System.Security.Cryptography;
using System.Text;

namespace SnapshotTools.Engine.Streams;

/// <summary>Loading of AES-256 keys for delta stream encryption.</summary>
public static class StreamKey
{
    /// <summary>
    /// Reads a 32-byte key from a file: either exactly 32 raw bytes, or text holding 64 hexadecimal digits or the
    /// base64 of 32 bytes (surrounding white space ignored).
    /// </summary>
    /// <exception cref="SnapshotToolsException">The file does not hold a 32-byte key (InvalidArgument).</exception>
    public static byte[] FromFile(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length == 32)
        {
            return raw;
        }
        string text = Encoding.ASCII.GetString(raw).Trim();
        try
        {
            if (text.Length == 64)
            {
                return Convert.FromHexString(text);
            }
            byte[] decoded = Convert.FromBase64String(text);
            if (decoded.Length == 32)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }
        throw SnapshotToolsException.Invalid("key file", $"'{path}' does not hold a 32-byte key (32 raw bytes, 64 hex digits, or base64)");
    }

    /// <summary>Creates a new random 32-byte key.</summary>
    public static byte[] Generate() => RandomNumberGenerator.GetBytes(32);

    /// <summary>Returns a non-secret identifier of a key (16 bytes), used to tell a wrong key from a corrupt stream.</summary>
    internal static byte[] KeyId(ReadOnlySpan<byte> key)
    {
        Span<byte> buffer = stackalloc byte[32 + 24];
        Encoding.ASCII.GetBytes("SnapshotTools stream key", buffer);
        key.CopyTo(buffer.Slice(24));
        return SHA256.HashData(buffer).AsSpan(0, 16).ToArray();
    }
}
