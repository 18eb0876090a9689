using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>The volume commands' work (New/Get/Resize/Remove/Import/Export-SnapshotVolume), behind the cmdlets.</summary>
/// <remarks>Every method opens the volume, does its work and closes it before returning, so objects can be written to
/// the pipeline (and the next command can open the same volume) without a handle held open across commands.</remarks>
public static class VolumeOperations
{
    /// <summary>Opens the volume at <paramref name="location"/>.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound (naming the volume and folder), VolumeInUse, CorruptMetadata.</exception>
    public static Volume Open(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!Volume.Exists(location.Path))
        {
            throw NotFound(location);
        }
        return Volume.Open(location.Path);
    }

    /// <summary>Returns whether a volume exists at <paramref name="location"/>.</summary>
    public static bool Exists(VolumeLocation location) => Volume.Exists(location.Path);

    /// <summary>Describes the volume at <paramref name="location"/>.</summary>
    /// <exception cref="SnapshotToolsException">As <see cref="Open"/>.</exception>
    public static SnapshotVolume Describe(VolumeLocation location)
    {
        using Volume volume = Open(location);
        return SnapshotVolume.Create(volume, location.Name);
    }

    /// <summary>Creates a volume.</summary>
    /// <param name="location">Where.</param>
    /// <param name="size">The size in bytes.</param>
    /// <param name="chunkSize">The chunk size (a power of two from 4 KiB to 1 MiB).</param>
    /// <param name="protectionMode">How protected ranges are handled.</param>
    /// <param name="recreate">Whether an existing volume there is replaced (same id, next generation).</param>
    /// <exception cref="SnapshotToolsException">VolumeExists (and not <paramref name="recreate"/>), InvalidArgument, VolumeInUse, DiskFull.</exception>
    public static SnapshotVolume Create(VolumeLocation location, long size, int chunkSize, ProtectionMode protectionMode, bool recreate)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!recreate && Volume.Exists(location.Path))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.VolumeExists, $"Volume '{location.Name}' already exists at '{location.Path}'. Use -Force to re-create it (its snapshots are lost).");
        }
        using Volume volume = Volume.Create(location.Path, new VolumeCreateOptions
        {
            Size = size,
            ChunkSize = chunkSize,
            Name = location.Name,
            ProtectionMode = protectionMode,
            Recreate = recreate,
        });
        return SnapshotVolume.Create(volume, location.Name);
    }

    /// <summary>What resizing would do: the current size, and whether bytes past the new end would be lost for good.</summary>
    /// <param name="CurrentSize">The size now.</param>
    /// <param name="Shrinks">Whether the new size is smaller.</param>
    /// <param name="LosesData">Whether shrinking drops bytes no snapshot keeps (there is no snapshot).</param>
    public sealed record ResizePlan(long CurrentSize, bool Shrinks, bool LosesData);

    /// <summary>Works out what resizing to <paramref name="newSize"/> would do, without changing anything.</summary>
    /// <exception cref="SnapshotToolsException">As <see cref="Open"/>.</exception>
    public static ResizePlan PlanResize(VolumeLocation location, long newSize)
    {
        using Volume volume = Open(location);
        bool shrinks = newSize < volume.Size;
        return new ResizePlan(volume.Size, shrinks, shrinks && volume.Snapshots.Count == 0);
    }

    /// <summary>Resizes the volume; snapshots keep their sizes.</summary>
    /// <exception cref="SnapshotToolsException">InvalidArgument (size), VolumeNotFound, VolumeInUse, DiskFull.</exception>
    public static SnapshotVolume Resize(VolumeLocation location, long newSize)
    {
        using Volume volume = Open(location);
        volume.Resize(newSize);
        volume.Flush();
        return SnapshotVolume.Create(volume, location.Name);
    }

    /// <summary>Deletes the volume with all its snapshots.</summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse.</exception>
    public static void Remove(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!Volume.Exists(location.Path))
        {
            throw NotFound(location);
        }
        Volume.Delete(location.Path);
    }

    /// <summary>Creates a volume from a raw image file or block device; zero chunks stay unmapped.</summary>
    /// <exception cref="SnapshotToolsException">VolumeExists (and not <paramref name="recreate"/>), InvalidArgument (empty image), DiskFull, Cancelled.</exception>
    /// <exception cref="FileNotFoundException">The image does not exist.</exception>
    public static SnapshotVolume Import(string imagePath, VolumeLocation location, int chunkSize, bool recreate, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        ArgumentNullException.ThrowIfNull(location);
        if (!File.Exists(imagePath) && !IsDevice(imagePath))
        {
            throw new FileNotFoundException($"The image '{imagePath}' does not exist.", imagePath);
        }
        if (!recreate && Volume.Exists(location.Path))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.VolumeExists, $"Volume '{location.Name}' already exists at '{location.Path}'. Use -Force to replace it (its snapshots are lost).");
        }
        using Volume volume = WrapCancel(() => RawImage.Import(imagePath, location.Path, new VolumeCreateOptions
        {
            ChunkSize = chunkSize,
            Name = location.Name,
            Recreate = recreate,
        }, progress, cancellationToken));
        return SnapshotVolume.Create(volume, location.Name);
    }

    /// <summary>Writes the live volume (or a snapshot) to a raw image file (sparse where unused).</summary>
    /// <returns>The image size in bytes.</returns>
    /// <exception cref="SnapshotToolsException">TargetExists (and not <paramref name="overwrite"/>), UnknownSnapshot, Cancelled (the partial image is removed).</exception>
    public static long Export(VolumeLocation location, string? snapshot, string imagePath, bool overwrite, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        if (!overwrite && (File.Exists(imagePath) || Directory.Exists(imagePath)))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.TargetExists, $"'{imagePath}' already exists. Use -Force to replace it.");
        }
        using Volume volume = Open(location);
        return WrapCancel(() => RawImage.Export(volume, snapshot, imagePath, progress, cancellationToken));
    }

    /// <summary>
    /// Writes the bytes of <paramref name="input"/> into the live volume at <paramref name="offset"/> (like <c>dd
    /// seek=</c>), through the copy-on-write path, so snapshots keep what they had. The volume is flushed at the end.
    /// </summary>
    /// <returns>The bytes written.</returns>
    /// <exception cref="SnapshotToolsException">OutOfRange (the data does not fit), VolumeNotFound, VolumeInUse, DiskFull, Cancelled (what was written so far stays written, and is durable).</exception>
    public static long Write(VolumeLocation location, Stream input, long offset, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (offset < 0)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.OutOfRange, $"The offset {offset} is negative.");
        }
        using Volume volume = Open(location);
        long total = input.CanSeek ? input.Length - input.Position : -1;
        if (total >= 0 && offset + total > volume.Size)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.OutOfRange,
                $"Writing {total} bytes at offset {offset} would end past the end of volume '{location.Name}' ({volume.Size} bytes). Resize it first (Resize-SnapshotVolume).");
        }
        byte[] buffer = new byte[Math.Max(volume.ChunkSize, 1024 * 1024)];
        long written = 0;
        string activity = $"Writing to volume '{location.Name}'";
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = input.Read(buffer, 0, buffer.Length);
                if (n == 0)
                {
                    break;
                }
                volume.Write(offset + written, buffer.AsSpan(0, n));
                written += n;
                progress?.Report(new OperationProgress(activity, written, total));
            }
        }
        catch (OperationCanceledException ex)
        {
            volume.Flush();
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled, $"Writing to volume '{location.Name}' was cancelled after {written} bytes; those are written.", ex);
        }
        volume.Flush();
        return written;
    }

    internal static SnapshotToolsException NotFound(VolumeLocation location) =>
        new(SnapshotErrorCode.VolumeNotFound, $"No volume '{location.Name}' exists (looked in '{location.Path}').");

    /// <summary>Turns the BCL's cancellation into the engine's Cancelled error, so ids are the same whoever noticed.</summary>
    internal static T WrapCancel<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (OperationCanceledException ex)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled, "The operation was cancelled; nothing half-written was left behind.", ex);
        }
    }

    private static bool IsDevice(string path) => path.StartsWith("/dev/", StringComparison.Ordinal) || path.StartsWith(@"\\.\", StringComparison.Ordinal);
}
