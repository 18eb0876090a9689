using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Engine.Repository;

/// <summary>The outcome of verifying one backup.</summary>
/// <param name="BackupId">The backup verified.</param>
/// <param name="Problems">What is wrong, one sentence each; empty when the backup is sound.</param>
/// <param name="Notes">What was not checked and why (a deep comparison skipped, say).</param>
/// <param name="RecordsRead">Records read and verified.</param>
/// <param name="BytesRead">Bytes of the stream file read.</param>
/// <param name="BytesCompared">Bytes compared with the live snapshot in deep mode.</param>
/// <param name="DeepCompared">Whether the deep comparison with the snapshot on the volume ran.</param>
public sealed record BackupVerifyResult(
    Guid BackupId,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> Notes,
    long RecordsRead,
    long BytesRead,
    long BytesCompared,
    bool DeepCompared)
{
    /// <summary>Gets whether no problem was found.</summary>
    public bool IsValid => Problems.Count == 0;
}

/// <summary>Verifying backups without restoring them.</summary>
public sealed partial class BackupRepository
{
    private const int MaxMismatchesReported = 20;

    /// <summary>
    /// Verifies a backup without restoring it: its catalog entry, that its chain is complete, and every record of its
    /// stream (header and payload checksums, authentication when encrypted, the END record's counts and SHA-256, and the
    /// totals against the catalog). In <paramref name="deep"/> mode, when <paramref name="volume"/> still has the
    /// backup's snapshot, every extent is also compared with the snapshot's bytes (for a full backup, the ranges the
    /// stream leaves out must read as zeros there).
    /// </summary>
    /// <returns>The problems found (none when sound); problems are reported, not thrown.</returns>
    /// <exception cref="SnapshotToolsException">UnknownBackup (no entry and no stream file); KeyRequired/WrongKey for an encrypted stream.</exception>
    public BackupVerifyResult Verify(Guid backupId, bool deep = false, Volume? volume = null, byte[]? key = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var problems = new List<string>();
        var notes = new List<string>();
        BackupInfo? backup;
        string? damagedFile = null;
        lock (_gate)
        {
            backup = _catalog.Entries.FirstOrDefault(e => e.BackupId == backupId);
            if (backup == null)
            {
                damagedFile = UnaccountedStreams(_catalog).FirstOrDefault(f => f.EndsWith($"/{backupId:D}{StreamExtension}", StringComparison.OrdinalIgnoreCase));
                if (damagedFile == null)
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.UnknownBackup, $"Repository '{_root}' has no backup {backupId}.");
                }
                problems.Add(_catalog.IsDamaged
                    ? $"The catalog entry of backup {backupId} is damaged (it fails its checksum); its stream file '{damagedFile}' is still there: run Repair to rebuild the entry."
                    : $"Backup {backupId} is not in the catalog, but its stream file '{damagedFile}' is.");
            }
            else
            {
                try
                {
                    ChainCore(_catalog, backup);
                }
                catch (SnapshotToolsException ex)
                {
                    problems.Add(ex.Message);
                }
            }
        }

        string path = backup != null ? FullPath(backup) : Path.Combine(_root, damagedFile!.Replace('/', Path.DirectorySeparatorChar));
        if (!File.Exists(path))
        {
            problems.Add($"The stream file '{path}' is missing.");
            return new BackupVerifyResult(backupId, problems, notes, 0, 0, 0, false);
        }
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1024 * 1024, FileOptions.SequentialScan);
        if (backup != null && input.Length != backup.StreamBytes)
        {
            problems.Add($"The stream file is {input.Length} bytes; the catalog records {backup.StreamBytes}.");
        }

        DeepCheck? check = null;
        long records = 0;
        DeltaStreamReader? reader = null;
        try
        {
            if (backup != null)
            {
                reader = OpenReader(backup, input, key);
            }
            else
            {
                try
                {
                    reader = new DeltaStreamReader(input, null, leaveOpen: true);
                }
                catch (SnapshotToolsException ex) when (ex.Code == SnapshotErrorCode.KeyRequired && key != null)
                {
                    input.Position = 0;
                    reader = new DeltaStreamReader(input, key, leaveOpen: true);
                }
            }
            DeltaStreamHeader header = reader.Header;
            if (backup != null)
            {
                CompareHeader(backup, header, problems);
            }
            if (deep)
            {
                check = DeepCheck.Create(header, volume, notes);
            }
            long total = Math.Max(1, input.Length);
            long nextReport = 0;
            string activity = $"Verifying backup {backupId}";
            while (reader.TryRead(out DeltaRecord record))
            {
                cancellationToken.ThrowIfCancellationRequested();
                records++;
                check?.Check(record, problems);
                if (progress != null && reader.Position >= nextReport)
                {
                    progress.Report(new OperationProgress(activity, reader.Position, total));
                    nextReport = reader.Position + total / 100;
                }
            }
            check?.Finish(problems);
            DeltaStreamSummary summary = reader.Summary!;
            records = summary.Records;
            if (backup != null)
            {
                if (Hex(summary.ContentSha256) != backup.ContentSha256)
                {
                    problems.Add($"The stream's content SHA-256 {Hex(summary.ContentSha256)} differs from the catalog's {backup.ContentSha256}.");
                }
                if (summary.DataBytes != backup.DataBytes || summary.ZeroBytes != backup.ZeroBytes || summary.UnmappedBytes != backup.UnmappedBytes || summary.Records != backup.Records)
                {
                    problems.Add($"The stream's totals ({summary.Records} records, {summary.DataBytes} data bytes) differ from the catalog's ({backup.Records} records, {backup.DataBytes} data bytes).");
                }
            }
            progress?.Report(new OperationProgress(activity, total, total));
        }
        catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.CorruptStream or SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.UnsupportedFormat or SnapshotErrorCode.CorruptMetadata)
        {
            problems.Add(ex.Message);
        }
        finally
        {
            reader?.Dispose();
        }
        return new BackupVerifyResult(backupId, problems, notes, records, input.Position, check?.BytesCompared ?? 0, check != null);
    }

    /// <summary>Verifies every backup (of one volume when <paramref name="volumeId"/> is given), without the deep comparison.</summary>
    /// <exception cref="SnapshotToolsException">KeyRequired/WrongKey for an encrypted stream.</exception>
    public IReadOnlyList<BackupVerifyResult> VerifyAll(Guid? volumeId = null, byte[]? key = null, CancellationToken cancellationToken = default)
    {
        var results = new List<BackupVerifyResult>();
        foreach (BackupInfo b in List(volumeId))
        {
            results.Add(Verify(b.BackupId, key: key, cancellationToken: cancellationToken));
        }
        return results;
    }

    /// <summary>
    /// Checks the catalog against the folder without reading streams: damaged entries, stream files missing or of the
    /// wrong length, stream files the catalog does not list, and broken chains.
    /// </summary>
    /// <returns>The problems, one sentence each; empty when consistent.</returns>
    public IReadOnlyList<string> VerifyCatalog()
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            var problems = new List<string>();
            foreach (QuarantinedRecord q in _catalog.Quarantine)
            {
                problems.Add("Damaged catalog record: " + q.Problem + ".");
            }
            foreach (BackupInfo b in _catalog.Entries)
            {
                string path = FullPath(b);
                var file = new FileInfo(path);
                if (!file.Exists)
                {
                    problems.Add($"The stream file of backup {b.BackupId} ('{b.ToSnapshotName}') is missing: '{path}'.");
                }
                else if (file.Length != b.StreamBytes)
                {
                    problems.Add($"The stream file of backup {b.BackupId} ('{b.ToSnapshotName}') is {file.Length} bytes; the catalog records {b.StreamBytes}.");
                }
                if (TryChain(_catalog, b) == null)
                {
                    try
                    {
                        ChainCore(_catalog, b);
                    }
                    catch (SnapshotToolsException ex)
                    {
                        problems.Add(ex.Message);
                    }
                }
            }
            foreach (string orphan in UnaccountedStreams(_catalog))
            {
                problems.Add($"The stream file '{orphan}' is not in the catalog.");
            }
            return problems;
        }
    }

    private static void CompareHeader(BackupInfo b, DeltaStreamHeader h, List<string> problems)
    {
        if (h.VolumeId != b.VolumeId || h.Generation != b.Generation || h.ToSnapshotId != b.ToSnapshotId || h.FromSnapshotId != b.FromSnapshotId
            || h.ToSize != b.VolumeSize || h.FromSize != b.FromSize || h.ChunkSize != b.ChunkSize || h.Compression != b.Compression || h.Encrypted != b.Encrypted)
        {
            problems.Add($"The stream's header (volume {h.VolumeId} generation {h.Generation}, snapshot '{h.ToName}' {h.ToSnapshotId}, size {h.ToSize}) does not match the catalog entry.");
        }
    }

    /// <summary>Compares each record with the backup's snapshot on the live volume.</summary>
    private sealed class DeepCheck
    {
        private readonly Volume _volume;
        private readonly SnapshotInfo _snapshot;
        private readonly bool _full;
        private readonly long _size;
        private byte[] _buffer = new byte[64 * 1024];
        private long _next;
        private int _mismatches;

        private DeepCheck(Volume volume, SnapshotInfo snapshot, bool full, long size)
        {
            _volume = volume;
            _snapshot = snapshot;
            _full = full;
            _size = size;
        }

        public long BytesCompared { get; private set; }

        public static DeepCheck? Create(DeltaStreamHeader header, Volume? volume, List<string> notes)
        {
            if (volume == null)
            {
                notes.Add("Deep comparison skipped: no volume was given.");
                return null;
            }
            if (volume.VolumeId != header.VolumeId || volume.Generation != header.Generation)
            {
                notes.Add($"Deep comparison skipped: volume '{volume.Name}' is volume {volume.VolumeId} generation {volume.Generation}, not the backup's volume {header.VolumeId} generation {header.Generation}.");
                return null;
            }
            SnapshotInfo? snapshot = volume.TryGetSnapshot(header.ToSnapshotId.ToString());
            if (snapshot == null)
            {
                notes.Add($"Deep comparison skipped: snapshot '{header.ToName}' ({header.ToSnapshotId}) no longer exists on volume '{volume.Name}'.");
                return null;
            }
            if (snapshot.Size != header.ToSize)
            {
                notes.Add($"Deep comparison skipped: snapshot '{snapshot.Name}' is {snapshot.Size} bytes, the backup {header.ToSize}.");
                return null;
            }
            return new DeepCheck(volume, snapshot, header.IsFull, header.ToSize);
        }

        public void Check(DeltaRecord record, List<string> problems)
        {
            if (record.Kind == DeltaRecordKind.Resize)
            {
                return;
            }
            if (_full && record.Offset > _next)
            {
                ExpectZeros(_next, record.Offset - _next, "left out of the full backup", problems);
            }
            if (record.Kind == DeltaRecordKind.Data)
            {
                Compare(record.Offset, record.Data.Span, problems);
            }
            else
            {
                ExpectZeros(record.Offset, record.Length, record.Kind == DeltaRecordKind.Zero ? "described as ZERO" : "described as UNMAP", problems);
            }
            _next = Math.Max(_next, record.Offset + record.Length);
        }

        public void Finish(List<string> problems)
        {
            if (_full && _next < _size)
            {
                ExpectZeros(_next, _size - _next, "left out of the full backup", problems);
            }
            if (_mismatches > MaxMismatchesReported)
            {
                problems.Add($"... and {_mismatches - MaxMismatchesReported} more range(s) differ from snapshot '{_snapshot.Name}'.");
            }
        }

        private void Compare(long offset, ReadOnlySpan<byte> expected, List<string> problems)
        {
            if (_buffer.Length < expected.Length)
            {
                _buffer = new byte[expected.Length];
            }
            Span<byte> actual = _buffer.AsSpan(0, expected.Length);
            _volume.ReadSnapshot(_snapshot, offset, actual);
            BytesCompared += expected.Length;
            if (!actual.SequenceEqual(expected))
            {
                int at = actual.CommonPrefixLength(expected);
                Mismatch($"The DATA at offset {offset} (length {expected.Length}) differs from snapshot '{_snapshot.Name}' first at byte {offset + at}.", problems);
            }
        }

        private void ExpectZeros(long offset, long length, string what, List<string> problems)
        {
            for (long pos = offset; pos < offset + length;)
            {
                int n = (int)Math.Min(_buffer.Length, offset + length - pos);
                Span<byte> actual = _buffer.AsSpan(0, n);
                _volume.ReadSnapshot(_snapshot, pos, actual);
                BytesCompared += n;
                int nonZero = actual.IndexOfAnyExcept((byte)0);
                if (nonZero >= 0)
                {
                    Mismatch($"The range at offset {offset} (length {length}) is {what}, but snapshot '{_snapshot.Name}' holds data at byte {pos + nonZero}.", problems);
                    return;
                }
                pos += n;
            }
        }

        private void Mismatch(string problem, List<string> problems)
        {
            if (++_mismatches <= MaxMismatchesReported)
            {
                problems.Add(problem);
            }
        }
    }
}
