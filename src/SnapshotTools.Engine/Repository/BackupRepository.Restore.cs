using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>The outcome of a restore.</summary>
/// <param name="Backup">The backup whose point in time was restored.</param>
/// <param name="Chain">The chain it needed, full backup first.</param>
/// <param name="Target">The volume folder or image file written.</param>
/// <param name="Size">The size of the restored volume or image.</param>
/// <param name="BackupsRead">How many streams of the chain were read (older ones are skipped once newer ones cover every byte).</param>
/// <param name="RecordsRead">Records read and verified.</param>
/// <param name="RecordsApplied">Records that contributed at least one byte (the rest were wholly superseded by newer backups).</param>
/// <param name="DataBytesWritten">Data bytes written to the target: each byte at most once, from its newest version.</param>
/// <param name="BytesSuperseded">Bytes described by older backups that newer backups had already covered, so they were not written.</param>
/// <param name="Snapshot">The snapshot created on the restored volume (same id, name and time as the source's); null for an image.</param>
public sealed record RestoreResult(
    BackupInfo Backup,
    IReadOnlyList<Guid> Chain,
    string Target,
    long Size,
    int BackupsRead,
    long RecordsRead,
    long RecordsApplied,
    long DataBytesWritten,
    long BytesSuperseded,
    SnapshotInfo? Snapshot);

/// <summary>Restoring a point in time into a new volume or a raw image file.</summary>
/// <remarks>
/// The chain is read newest first and a coverage map over the target records which bytes a newer backup has already
/// described (DATA, ZERO and UNMAP all count). Each record writes only the parts not covered yet, so every byte is
/// written once, from its newest version, instead of replaying every incremental over the full backup. A record of an
/// older backup is also clipped to the smallest size the volume had after it, so a shrink followed by a grow cannot
/// resurrect old bytes. Once every byte is covered, older streams are not read at all. Every stream read is verified
/// as it goes (record checksums, authentication when encrypted, the END record's counts and SHA-256); a failure
/// removes the partial target.
/// </remarks>
public sealed partial class BackupRepository
{
    /// <summary>
    /// Restores backup <paramref name="backupId"/> into a new volume in <paramref name="volumeDirectory"/>. The volume
    /// continues the source's lineage (volume id and generation), and gets a snapshot with the source snapshot's id,
    /// name and time, so the source's later incremental streams import onto it.
    /// </summary>
    /// <exception cref="SnapshotToolsException">UnknownBackup, MissingLink, VolumeExists, KeyRequired/WrongKey,
    /// CorruptStream/TruncatedStream (the stream file is damaged), CorruptMetadata, DiskFull, Cancelled. The new
    /// volume is removed on any failure.</exception>
    public RestoreResult RestoreToVolume(Guid backupId, string volumeDirectory, byte[]? key = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volumeDirectory);
        IReadOnlyList<BackupInfo> chain = Chain(backupId);
        using Volume volume = RestoreVolumeCore(chain, volumeDirectory, key, progress, cancellationToken, out RestoreResult result);
        return result;
    }

    /// <summary>
    /// Restores backup <paramref name="backupId"/> into a raw image file (byte <c>i</c> of the volume is byte <c>i</c>
    /// of the file). Zero and unmapped ranges are left as holes, so the image is sparse. The image is written under a
    /// temporary name and renamed into place when complete.
    /// </summary>
    /// <exception cref="SnapshotToolsException">TargetExists (and <paramref name="overwrite"/> is false), and as
    /// <see cref="RestoreToVolume"/>; the partial image is removed on any failure.</exception>
    public RestoreResult RestoreToImage(Guid backupId, string imagePath, bool overwrite = false, byte[]? key = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        IReadOnlyList<BackupInfo> chain = Chain(backupId);
        BackupInfo target = chain[^1];
        string path = Path.GetFullPath(imagePath);
        if (!overwrite && (File.Exists(path) || Directory.Exists(path)))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.TargetExists, $"'{path}' already exists; choose another file or allow overwriting it.");
        }
        string temp = path + PartialSuffix;
        try
        {
            RestoreResult result;
            using (var output = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1))
            {
                output.SetLength(target.VolumeSize);
                var sink = new ImageSink(output);
                result = Apply(chain, sink, key, path, progress, cancellationToken);
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite);
            DurableFiles.SyncDirectory(Path.GetDirectoryName(path)!);
            return result;
        }
        catch (Exception ex)
        {
            DurableFiles.TryDelete(temp);
            throw Translate(ex, target, path);
        }
    }

    /// <summary>Restores a chain into a new volume and returns it open. On failure the volume is deleted.</summary>
    internal Volume RestoreVolumeCore(IReadOnlyList<BackupInfo> chain, string volumeDirectory, byte[]? key, IProgress<OperationProgress>? progress, CancellationToken cancellationToken, out RestoreResult result)
    {
        BackupInfo target = chain[^1];
        string path = Path.GetFullPath(volumeDirectory);
        if (Volume.Exists(path))
        {
            throw SnapshotToolsException.VolumeExists(path);
        }
        Volume volume = Volume.Create(path, new VolumeCreateOptions
        {
            Size = target.VolumeSize,
            ChunkSize = target.ChunkSize,
            VolumeId = target.VolumeId,
            Generation = target.Generation,
        });
        try
        {
            RestoreResult applied = Apply(chain, new VolumeSink(volume), key, path, progress, cancellationToken);
            volume.Flush();
            SnapshotInfo snapshot = volume.CreateSnapshotWithIdentity(target.ToSnapshotName, target.ToSnapshotDescription, target.ToSnapshotId, target.ToSnapshotCreatedUtc);
            result = applied with { Snapshot = snapshot };
            return volume;
        }
        catch (Exception ex)
        {
            volume.Dispose();
            try
            {
                Volume.Delete(path);
            }
            catch (SnapshotToolsException)
            {
                // Best effort: the folder is left for the administrator; the error below says what failed.
            }
            throw Translate(ex, target, path);
        }
    }

    private RestoreResult Apply(IReadOnlyList<BackupInfo> chain, IRestoreSink sink, byte[]? key, string targetName, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        BackupInfo target = chain[^1];
        int n = chain.Count;
        long[] limit = new long[n];
        limit[n - 1] = target.VolumeSize;
        for (int i = n - 2; i >= 0; i--)
        {
            limit[i] = Math.Min(chain[i].VolumeSize, limit[i + 1]);
        }
        foreach (BackupInfo b in chain)
        {
            if (b.ChunkSize != target.ChunkSize)
            {
                throw SnapshotToolsException.Corrupt("the repository catalog", $"backup {b.BackupId} has chunk size {b.ChunkSize}, unlike the rest of its chain ({target.ChunkSize})");
            }
        }
        // Open every stream first, so a concurrent removal cannot pull one away mid-restore.
        var inputs = new FileStream[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                inputs[i] = OpenStream(chain[i]);
            }
            var coverage = new CoverageMap(target.VolumeSize, target.ChunkSize);
            var pieces = new List<ByteRange>();
            string activity = $"Restoring '{target.ToSnapshotName}' to '{targetName}'";
            long total = Math.Max(1, target.VolumeSize);
            long reportStep = Math.Max(1, total / 200);
            long nextReport = reportStep;
            int backupsRead = 0;
            long recordsRead = 0;
            long recordsApplied = 0;
            long dataWritten = 0;
            long superseded = 0;
            progress?.Report(new OperationProgress(activity, 0, total));
            for (int i = n - 1; i >= 0; i--)
            {
                if (coverage.IsComplete)
                {
                    break;
                }
                BackupInfo b = chain[i];
                using DeltaStreamReader reader = OpenReader(b, inputs[i], key);
                backupsRead++;
                while (TryRead(reader, b, out DeltaRecord record))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    recordsRead++;
                    if (record.Kind == DeltaRecordKind.Resize)
                    {
                        continue;
                    }
                    long end = Math.Min(record.Offset + record.Length, limit[i]);
                    if (end <= record.Offset)
                    {
                        superseded += record.Length;
                        continue;
                    }
                    pieces.Clear();
                    coverage.Claim(record.Offset, end - record.Offset, pieces);
                    long fresh = 0;
                    foreach (ByteRange p in pieces)
                    {
                        fresh += p.Length;
                        switch (record.Kind)
                        {
                            case DeltaRecordKind.Data:
                                sink.WriteData(p.Offset, record.Data.Span.Slice((int)(p.Offset - record.Offset), (int)p.Length));
                                dataWritten += p.Length;
                                break;
                            case DeltaRecordKind.Zero:
                                sink.WriteZero(p.Offset, p.Length);
                                break;
                            default:
                                sink.Unmap(p.Offset, p.Length);
                                break;
                        }
                    }
                    superseded += record.Length - fresh;
                    if (fresh > 0)
                    {
                        recordsApplied++;
                    }
                    if (coverage.CoveredBytes >= nextReport)
                    {
                        progress?.Report(new OperationProgress(activity, coverage.CoveredBytes, total));
                        nextReport = coverage.CoveredBytes + reportStep;
                    }
                }
            }
            progress?.Report(new OperationProgress(activity, total, total));
            return new RestoreResult(target, chain.Select(c => c.BackupId).ToArray(), targetName, target.VolumeSize,
                backupsRead, recordsRead, recordsApplied, dataWritten, superseded, null);
        }
        finally
        {
            foreach (FileStream? s in inputs)
            {
                s?.Dispose();
            }
        }
    }

    /// <summary>Reads the next verified record, naming the backup when its stream turns out damaged.</summary>
    private static bool TryRead(DeltaStreamReader reader, BackupInfo backup, out DeltaRecord record)
    {
        try
        {
            return reader.TryRead(out record);
        }
        catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.UnsupportedFormat)
        {
            throw new SnapshotToolsException(ex.Code, $"Backup {backup.BackupId} ('{backup.ToSnapshotName}' of volume '{backup.VolumeName}'): {ex.Message}", ex);
        }
    }

    /// <summary>Opens a backup's stream file for reading.</summary>
    /// <exception cref="SnapshotToolsException">The file is missing (CorruptMetadata naming it).</exception>
    internal FileStream OpenStream(BackupInfo backup)
    {
        string path = FullPath(backup);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1024 * 1024, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.CorruptMetadata,
                $"The stream file of backup {backup.BackupId} ('{backup.ToSnapshotName}' of volume '{backup.VolumeName}') is missing: '{path}'.", ex);
        }
    }

    /// <summary>Opens a verifying reader and checks that the stream is the one the catalog records.</summary>
    internal static DeltaStreamReader OpenReader(BackupInfo backup, Stream input, byte[]? key)
    {
        if (backup.Encrypted && key == null)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.KeyRequired,
                $"Backup {backup.BackupId} ('{backup.ToSnapshotName}') is encrypted; give the key file it was written with" + (backup.KeyId != null ? $" (key id {backup.KeyId})." : "."));
        }
        DeltaStreamReader reader;
        try
        {
            reader = new DeltaStreamReader(input, backup.Encrypted ? key : null, leaveOpen: true);
        }
        catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.WrongKey)
        {
            throw new SnapshotToolsException(ex.Code, $"Backup {backup.BackupId} ('{backup.ToSnapshotName}'): {ex.Message}", ex);
        }
        if (Hex(reader.StreamId) != backup.StreamId)
        {
            reader.Dispose();
            throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream,
                $"The stream file of backup {backup.BackupId} ('{backup.ToSnapshotName}') is not the stream the catalog records (stream id {Hex(reader.StreamId)}, expected {backup.StreamId}).");
        }
        return reader;
    }

    private static Exception Translate(Exception ex, BackupInfo target, string path)
    {
        return ex switch
        {
            OperationCanceledException => new SnapshotToolsException(SnapshotErrorCode.Cancelled,
                $"The restore of '{target.ToSnapshotName}' to '{path}' was cancelled; the partial target was removed.", ex),
            SnapshotToolsException ste when ste.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream =>
                new SnapshotToolsException(ste.Code, $"{ste.Message} The restore of '{target.ToSnapshotName}' to '{path}' stopped; the partial target was removed.", ste),
            IOException io when SnapshotToolsException.IsDiskFull(io) && io is not SnapshotToolsException =>
                new SnapshotToolsException(SnapshotErrorCode.DiskFull, $"The disk holding '{path}' is full; the partial restore was removed.", io),
            _ => ex,
        };
    }

    /// <summary>Where a restore writes.</summary>
    private interface IRestoreSink
    {
        void WriteData(long offset, ReadOnlySpan<byte> data);

        void WriteZero(long offset, long length);

        void Unmap(long offset, long length);
    }

    /// <summary>A new volume: data through the write path, zeros as zero chunks, unmapped left as it is (a new volume is unmapped).</summary>
    private sealed class VolumeSink : IRestoreSink
    {
        private readonly Volume _volume;

        public VolumeSink(Volume volume) => _volume = volume;

        public void WriteData(long offset, ReadOnlySpan<byte> data) => _volume.Write(offset, data);

        public void WriteZero(long offset, long length) => _volume.WriteZeroes(offset, length);

        public void Unmap(long offset, long length)
        {
        }
    }

    /// <summary>A new sparse image file: only data is written, zero and unmapped ranges stay holes.</summary>
    private sealed class ImageSink : IRestoreSink
    {
        private readonly FileStream _output;

        public ImageSink(FileStream output) => _output = output;

        public void WriteData(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(_output.SafeFileHandle, data, offset);

        public void WriteZero(long offset, long length)
        {
        }

        public void Unmap(long offset, long length)
        {
        }
    }
}
