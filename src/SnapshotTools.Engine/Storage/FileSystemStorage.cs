using Microsoft.Win32.SafeHandles;

namespace SnapshotTools.Engine.Storage;

/// <summary>A volume folder on the local file system. Files are sparse; I/O uses <see cref="RandomAccess"/>.</summary>
public sealed class FileSystemStorage : IStorage
{
    private const string LockFileName = "volume.lock";
    private readonly string _directory;

    /// <summary>Initializes storage over <paramref name="directory"/>, creating the folder when asked.</summary>
    public FileSystemStorage(string directory, bool create)
    {
        _directory = Path.GetFullPath(directory);
        if (create)
        {
            Directory.CreateDirectory(_directory);
        }
    }

    /// <inheritdoc />
    public string Location => _directory;

    /// <inheritdoc />
    public bool Exists(string name) => File.Exists(Path.Combine(_directory, name));

    /// <inheritdoc />
    public IStorageFile Open(string name, bool create)
    {
        string path = Path.Combine(_directory, name);
        var options = new FileStreamOptions
        {
            Mode = create ? FileMode.OpenOrCreate : FileMode.Open,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.RandomAccess,
        };
        SafeFileHandle handle = File.OpenHandle(path, options.Mode, options.Access, options.Share, options.Options);
        return new FileSystemFile(handle);
    }

    /// <inheritdoc />
    public void Delete(string name) => File.Delete(Path.Combine(_directory, name));

    /// <inheritdoc />
    public IReadOnlyList<string> List()
    {
        if (!Directory.Exists(_directory))
        {
            return Array.Empty<string>();
        }
        return Directory.GetFiles(_directory).Select(Path.GetFileName).Where(n => n != null).Select(n => n!).ToArray();
    }

    /// <inheritdoc />
    public IDisposable? TryLock()
    {
        try
        {
            // FileShare.None maps to an exclusive advisory lock on Unix and a share-mode lock on Windows; both stop a
            // second writer (another process or another handle in this one).
            return new FileStream(Path.Combine(_directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class FileSystemFile : IStorageFile
    {
        private readonly SafeFileHandle _handle;
        private readonly FileStream _flusher;

        public FileSystemFile(SafeFileHandle handle)
        {
            _handle = handle;
            // net8.0 has no RandomAccess.FlushToDisk; an unbuffered FileStream over the same handle gives fsync.
            _flusher = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        }

        public long Length => RandomAccess.GetLength(_handle);

        public void SetLength(long length) => RandomAccess.SetLength(_handle, length);

        public void Read(long offset, Span<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = RandomAccess.Read(_handle, buffer.Slice(total), offset + total);
                if (n == 0)
                {
                    buffer.Slice(total).Clear();
                    return;
                }
                total += n;
            }
        }

        public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(_handle, data, offset);

        public void Flush() => _flusher.Flush(flushToDisk: true);

        public void StartWriteback(long offset, long length)
        {
            if (!OperatingSystem.IsLinux() || s_noSyncFileRange)
            {
                return;
            }
            try
            {
                // SYNC_FILE_RANGE_WRITE: queue the dirty pages of the range for writeback and return.
                _ = sync_file_range((int)_handle.DangerousGetHandle(), offset, length, 2);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                s_noSyncFileRange = true;
            }
        }

        private static bool s_noSyncFileRange;

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);

        public void Dispose()
        {
            _flusher.Dispose();
            _handle.Dispose();
        }
    }
}
