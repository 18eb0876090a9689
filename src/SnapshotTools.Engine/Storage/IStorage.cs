namespace SnapshotTools.Engine.Storage;

/// <summary>
/// The folder a volume lives in, reduced to what the engine needs: named files, a lock, deletion. The engine never
/// touches the file system directly, so tests can substitute <see cref="MemoryStorage"/> and
/// <see cref="FaultInjectingStorage"/> (the FASTER <c>IDevice</c> model).
/// </summary>
public interface IStorage : IDisposable
{
    /// <summary>Gets a human-readable location for messages.</summary>
    string Location { get; }

    /// <summary>Returns whether a file exists.</summary>
    bool Exists(string name);

    /// <summary>Opens a file, creating it (empty) when <paramref name="create"/> is true and it does not exist.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist and <paramref name="create"/> is false.</exception>
    IStorageFile Open(string name, bool create);

    /// <summary>Deletes a file if it exists.</summary>
    void Delete(string name);

    /// <summary>Lists the names of all files.</summary>
    IReadOnlyList<string> List();

    /// <summary>Takes the exclusive writer lock of the folder, or returns null when someone else holds it.</summary>
    IDisposable? TryLock();
}

/// <summary>A file with positional I/O. Implementations must be safe for concurrent calls at different offsets.</summary>
public interface IStorageFile : IDisposable
{
    /// <summary>Gets the current length of the file in bytes.</summary>
    long Length { get; }

    /// <summary>Sets the length; growing fills with zeros (sparse where the platform allows).</summary>
    void SetLength(long length);

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; bytes past the end read as zero.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>, growing the file when needed.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes every completed write durable.</summary>
    void Flush();

    /// <summary>
    /// Starts writing [offset, offset + length) back to the disk without waiting for it, so that a later
    /// <see cref="Flush"/> has less to do. A hint only: it makes nothing durable, and implementations may ignore it.
    /// </summary>
    void StartWriteback(long offset, long length)
    {
    }
}
