using System.Buffers;

namespace SnapshotTools.Engine;

/// <summary>Import of raw image files (or block devices) into volumes, and export of volumes and snapshots to raw images.</summary>
public static class RawImage
{
    private const int BufferChunks = 64;

    /// <summary>
    /// Creates a volume in <paramref name="volumeDirectory"/> from the raw image at <paramref name="imagePath"/>. Chunks
    /// that are entirely zero are not written (they stay unmapped), so a sparse image makes a sparse volume.
    /// </summary>
    /// <exception cref="SnapshotToolsException">A volume already exists there, the image is empty, or the disk is full.</exception>
    /// <exception cref="FileNotFoundException">The image does not exist.</exception>
    public static Volume Import(string imagePath, string volumeDirectory, VolumeCreateOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var image = new FileStream(imagePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long size = image.Length;
        if (size == 0)
        {
            // Block devices report length 0 through FileStream; seek to the end to learn their size.
            size = image.Seek(0, SeekOrigin.End);
            image.Seek(0, SeekOrigin.Begin);
        }
        if (size <= 0)
        {
            throw SnapshotToolsException.Invalid("image", $"'{imagePath}' is empty");
        }
        var create = new VolumeCreateOptions
        {
            Size = size,
            ChunkSize = options?.ChunkSize ?? Volume.DefaultChunkSize,
            Name = options?.Name,
            ProtectionMode = options?.ProtectionMode ?? ProtectionMode.PreserveAndFilter,
            Recreate = options?.Recreate ?? false,
        };
        Volume volume = Volume.Create(volumeDirectory, create);
        try
        {
            int chunk = volume.ChunkSize;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(chunk * BufferChunks);
            try
            {
                long pos = 0;
                while (pos < size)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int want = (int)Math.Min(buffer.Length - buffer.Length % chunk, size - pos);
                    int got = ReadFully(image, buffer.AsSpan(0, want));
                    if (got < want)
                    {
                        throw new EndOfStreamException($"'{imagePath}' ended at byte {pos + got}, before its reported size {size}.");
                    }
                    for (int off = 0; off < got; off += chunk)
                    {
                        ReadOnlySpan<byte> part = buffer.AsSpan(off, Math.Min(chunk, got - off));
                        if (part.IndexOfAnyExcept((byte)0) >= 0)
                        {
                            volume.Write(pos + off, part);
                        }
                    }
                    pos += got;
                    progress?.Report(new OperationProgress($"Importing '{imagePath}'", pos, size));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            volume.Flush();
            return volume;
        }
        catch
        {
            volume.Dispose();
            Volume.Delete(volumeDirectory);
            throw;
        }
    }

    /// <summary>
    /// Writes the live volume (or <paramref name="snapshot"/>) to a raw image file. Ranges not in use are left as
    /// holes, so the image is sparse where the data is zero. An existing file is replaced.
    /// </summary>
    /// <exception cref="SnapshotToolsException">Unknown snapshot or corrupt preserved data; the partial image is removed.</exception>
    public static long Export(Volume volume, string? snapshot, string imagePath, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        SnapshotInfo? snap = snapshot == null ? null : volume.GetSnapshot(snapshot);
        VolumeDelta full = volume.GetDelta(null, snap);
        string temp = imagePath + ".partial";
        try
        {
            using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                output.SetLength(full.ToSize);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(volume.ChunkSize * BufferChunks);
                try
                {
                    long written = 0;
                    foreach (DeltaExtent extent in full)
                    {
                        if (extent.Kind != ExtentKind.Data)
                        {
                            continue;
                        }
                        for (long pos = extent.Offset; pos < extent.End;)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            int n = (int)Math.Min(buffer.Length, extent.End - pos);
                            full.ReadData(pos, buffer.AsSpan(0, n));
                            output.Position = pos;
                            output.Write(buffer, 0, n);
                            pos += n;
                            written += n;
                            progress?.Report(new OperationProgress($"Exporting to '{imagePath}'", pos, full.ToSize));
                        }
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, imagePath, overwrite: true);
            progress?.Report(new OperationProgress($"Exporting to '{imagePath}'", full.ToSize, full.ToSize));
            return full.ToSize;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static int ReadFully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer.Slice(total));
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}
