using System.Runtime.InteropServices;

namespace SnapshotTools.Engine.Repository;

/// <summary>
/// The file-system steps that make the repository crash safe: write a file under a temporary name, fsync it, rename it
/// into place, fsync the folder. A rename within a folder is atomic, so readers see the old file or the new one, never a
/// mixture; the folder fsync makes the rename itself survive a power loss.
/// </summary>
internal static class DurableFiles
{
    private const int O_RDONLY = 0;

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically and durably (temp file, fsync, rename, folder fsync).</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content)
    {
        string temp = path + ".new";
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Makes the folder's entries (creations, renames, deletions) durable. A no-op where the platform has no folder fsync.</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS journals renames; there is no folder handle to flush.
        }
        try
        {
            int fd = open(directory, O_RDONLY);
            if (fd < 0)
            {
                return;
            }
            try
            {
                fsync(fd);
            }
            finally
            {
                close(fd);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: the rename is still atomic, only its durability across power loss is the platform's.
        }
    }

    /// <summary>Deletes a file, ignoring one that is already gone.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
