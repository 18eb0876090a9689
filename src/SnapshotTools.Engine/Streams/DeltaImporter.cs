using SnapshotTools.Engine.Format;
using SnapshotTools.Engine.Volumes;

namespace SnapshotTools.Engine.Streams;

/// <summary>Options for importing a delta stream.</summary>
public sealed class ImportOptions
{
    /// <summary>Gets or sets the key of an encrypted stream.</summary>
    public byte[]? Key { get; set; }

    /// <summary>
    /// Gets or sets whether the target is first rolled back to the stream's base snapshot (deleting younger
    /// snapshots and discarding changes since it), like <c>zfs receive -F</c>; for a full stream, whether the
    /// target's snapshots are deleted.
    /// </summary>
    public bool Force { get; set; }

    /// <summary>Gets or sets how many staged bytes pass between durable checkpoints; default 64 MiB.</summary>
    public long CheckpointBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>The outcome of an import.</summary>
/// <param name="Snapshot">The snapshot the stream reached, now on the target.</param>
/// <param name="Summary">The verified stream totals.</param>
/// <param name="ResumedAtRecord">The record an interrupted import was resumed at, or 0.</param>
public sealed record ImportResult(SnapshotInfo Snapshot, DeltaStreamSummary Summary, long ResumedAtRecord);

/// <summary>
/// Applies delta streams to volumes. The stream is verified record by record into a staging journal beside the
/// volume; only when its END record verifies is the staged content applied (through the copy-on-write path) and the
/// stream's snapshot created with its id and name. Any failure before that (bad checksum, truncation, wrong key,
/// cancel, crash) leaves the volume exactly as it was; importing the same stream again resumes after the last
/// durable checkpoint.
/// </summary>
public static class DeltaImporter
{
    /// <summary>Imports <paramref name="input"/> into <paramref name="target"/>.</summary>
    /// <exception cref="SnapshotToolsException">A stream error (CorruptStream, TruncatedStream, WrongKey, KeyRequired,
    /// UnsupportedFormat), a target mismatch (ForeignVolume, GenerationMismatch, WrongBase, TargetModified,
    /// SizeMismatch, DuplicateImport, NameInUse), DiskFull or Cancelled. The target is unchanged in every case.</exception>
    public static ImportResult Import(Volume target, Stream input, ImportOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(input);
        options ??= new ImportOptions();
        using var reader = new DeltaStreamReader(input, options.Key, leaveOpen: true);
        DeltaStreamHeader header = reader.Header;
        target.PrepareImport(header, options.Force, progress, cancellationToken);

        using ImportJournal journal = target.OpenImportJournal();
        ImportState? pending = journal.Load();
        long resumeAt = 0;
        uint expectedCrc = 0;
        if (pending != null && !pending.Committed && pending.StreamId.AsSpan().SequenceEqual(reader.StreamId))
        {
            journal.Resume();
            resumeAt = pending.StagedRecords;
            expectedCrc = pending.RunningCrc;
        }
        else
        {
            journal.Begin(new ImportState
            {
                StreamId = reader.StreamId,
                VolumeId = header.VolumeId,
                Generation = header.Generation,
                IsFull = header.IsFull,
                FromSnapshotId = header.FromSnapshotId ?? Guid.Empty,
                ToSnapshotId = header.ToSnapshotId,
                ToName = header.ToName,
                ToCreatedUtc = header.ToCreatedUtc,
                ToDescription = header.ToDescription,
                ToSize = header.ToSize,
                StagedRecords = 1,
            });
        }

        uint runningCrc = 0;
        long nextRecord = 1;
        long sinceCheckpoint = 0;
        long total = Math.Max(1, header.ToSize);
        try
        {
            Span<byte> crcBytes = stackalloc byte[4];
            while (reader.TryRead(out DeltaRecord record))
            {
                cancellationToken.ThrowIfCancellationRequested();
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(crcBytes, record.Crc);
                runningCrc = Crc32C.Append(runningCrc, crcBytes);
                nextRecord = record.Index + 1;
                if (record.Index < resumeAt)
                {
                    if (record.Index == resumeAt - 1 && runningCrc != expectedCrc)
                    {
                        journal.Delete();
                        throw new SnapshotToolsException(SnapshotErrorCode.CorruptStream,
                            "The stream differs from the one whose interrupted import was staged; the staged part was discarded. Import the stream again.");
                    }
                    continue;
                }
                switch (record.Kind)
                {
                    case DeltaRecordKind.Data:
                        journal.Append(ImportJournal.OpData, record.Offset, record.Length, record.Data.Span);
                        sinceCheckpoint += record.Length;
                        break;
                    case DeltaRecordKind.Zero:
                        journal.Append(ImportJournal.OpZero, record.Offset, record.Length, ReadOnlySpan<byte>.Empty);
                        break;
                    case DeltaRecordKind.Unmap:
                        journal.Append(ImportJournal.OpUnmap, record.Offset, record.Length, ReadOnlySpan<byte>.Empty);
                        break;
                    case DeltaRecordKind.Resize:
                        journal.Append(ImportJournal.OpResize, record.Offset, 0, ReadOnlySpan<byte>.Empty);
                        break;
                }
                sinceCheckpoint += 64;
                if (sinceCheckpoint >= options.CheckpointBytes)
                {
                    journal.Checkpoint(nextRecord, runningCrc);
                    sinceCheckpoint = 0;
                    progress?.Report(new OperationProgress($"Importing '{header.ToName}'", Math.Min(record.Offset + record.Length, total), total));
                }
            }
            journal.Checkpoint(nextRecord, runningCrc);
        }
        catch (OperationCanceledException)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.Cancelled,
                $"The import of '{header.ToName}' was cancelled; volume '{target.Name}' is unchanged. Import the same stream again to resume.");
        }
        catch (IOException ex) when (SnapshotToolsException.IsDiskFull(ex))
        {
            journal.Delete();
            throw ex as SnapshotToolsException ?? SnapshotToolsException.DiskFull(target.Name, ex);
        }
        catch (SnapshotToolsException ex) when (ex.Code is SnapshotErrorCode.TruncatedStream or SnapshotErrorCode.CorruptStream)
        {
            throw new SnapshotToolsException(ex.Code, ex.Message + $" Volume '{target.Name}' is unchanged; importing an intact copy of the same stream resumes where this one failed.", ex);
        }

        SnapshotInfo snapshot = target.CommitImport(journal, header, cancellationToken);
        progress?.Report(new OperationProgress($"Importing '{header.ToName}'", total, total));
        return new ImportResult(snapshot, reader.Summary!, resumeAt);
    }

    /// <summary>
    /// Creates a volume in <paramref name="volumeDirectory"/> from a full stream. The new volume continues the
    /// source's lineage (same volume id and generation), so the source's later incrementals apply to it. If the
    /// import fails the new volume is removed.
    /// </summary>
    /// <exception cref="SnapshotToolsException">As <see cref="Import"/>; WrongBase for an incremental stream;
    /// VolumeExists when a volume is already there.</exception>
    public static ImportResult ImportNew(string volumeDirectory, Stream input, ImportOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new ImportOptions();
        // Peek the header through a buffered wrapper so that the same bytes feed the import.
        var buffered = new HeaderReplayStream(input);
        DeltaStreamHeader header;
        using (var peek = new DeltaStreamReader(buffered, options.Key, leaveOpen: true))
        {
            header = peek.Header;
        }
        if (!header.IsFull)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.WrongBase,
                $"The stream is an incremental from '{header.FromName}'; a new volume needs a full stream. Import it into the volume that has '{header.FromName}'.");
        }
        if (Volume.Exists(volumeDirectory))
        {
            throw SnapshotToolsException.VolumeExists(Path.GetFullPath(volumeDirectory));
        }
        buffered.Rewind();
        Volume volume = Volume.Create(volumeDirectory, new VolumeCreateOptions
        {
            Size = header.ToSize,
            ChunkSize = Math.Clamp(header.ChunkSize, Volume.MinChunkSize, Volume.MaxChunkSize),
            VolumeId = header.VolumeId,
            Generation = header.Generation,
        });
        try
        {
            using (volume)
            {
                return Import(volume, buffered, options, progress, cancellationToken);
            }
        }
        catch
        {
            Volume.Delete(volumeDirectory);
            throw;
        }
    }

    /// <summary>Records the first bytes read so they can be read again once (for header peeking on pipes).</summary>
    private sealed class HeaderReplayStream : Stream
    {
        private readonly Stream _inner;
        private readonly MemoryStream _recorded = new();
        private bool _recording = true;
        private long _replayPosition = -1;

        public HeaderReplayStream(Stream inner) => _inner = inner;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public void Rewind()
        {
            _recording = false;
            _replayPosition = 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_replayPosition >= 0 && _replayPosition < _recorded.Length)
            {
                int n = (int)Math.Min(buffer.Length, _recorded.Length - _replayPosition);
                _recorded.GetBuffer().AsSpan((int)_replayPosition, n).CopyTo(buffer);
                _replayPosition += n;
                return n;
            }
            int read = _inner.Read(buffer);
            if (_recording)
            {
                _recorded.Write(buffer.Slice(0, read));
            }
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
