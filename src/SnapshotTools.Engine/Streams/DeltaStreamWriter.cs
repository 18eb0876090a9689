using System.Buffers.Binary;
using System.Security.Cryptography;
using SnapshotTools.Engine.Format;

namespace SnapshotTools.Engine.Streams;

/// <summary>
/// Serializes a <see cref="VolumeDelta"/> as a delta stream (docs/delta-stream.md). Memory stays bounded whatever
/// the volume size: records are produced in batches of a few, compressed (and encrypted) in parallel, and written in
/// order.
/// </summary>
public static class DeltaStreamWriter
{
    /// <summary>Writes <paramref name="delta"/> to <paramref name="output"/> (left open).</summary>
    /// <exception cref="SnapshotToolsException">The delta ends at the live volume (a stream must reach a snapshot),
    /// the key is not 32 bytes, zstd is asked for but absent, or the volume fails while reading.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the output holds a partial stream the caller removes.</exception>
    public static DeltaStreamSummary Write(VolumeDelta delta, Stream output, DeltaStreamOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new DeltaStreamOptions();
        SnapshotInfo to = delta.To ?? throw SnapshotToolsException.Invalid("delta", "a delta stream must end at a snapshot; take a snapshot of the live volume first");
        if (options.Key != null && options.Key.Length != 32)
        {
            throw SnapshotToolsException.Invalid("key", "an AES-256 key is 32 bytes");
        }
        if (options.Compression == StreamCompression.Zstd && !StreamCodecs.ZstdAvailable)
        {
            throw SnapshotToolsException.Invalid("compression", "zstd needs the system library libzstd (Debian: libzstd1), which is not installed");
        }
        int recordData = Math.Clamp(options.RecordDataSize, 4096, 16 * 1024 * 1024);
        var header = new DeltaStreamHeader(DeltaStreamFormat.FormatVersion, delta.VolumeId, delta.Generation,
            delta.From?.Id, delta.From?.Sequence ?? 0, delta.From?.Name, to.Id, to.Sequence, to.Name, to.CreatedUtc, to.Description,
            delta.ChunkSize, delta.FromSize, delta.ToSize, DateTimeOffset.UtcNow, options.Compression, options.Key != null);
        var state = new WriterState(output, options, header);

        try
        {
            state.WriteMagic();
            state.Emit(new Job(DeltaStreamFormat.TypeHeader, state.HeaderPayload, plain: true));
            if (header.FromSize != header.ToSize)
            {
                byte[] resize = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(resize, header.ToSize);
                state.Emit(new Job(DeltaStreamFormat.TypeResize, resize));
            }

            long total = Math.Max(1, delta.ChangedChunks * (long)delta.ChunkSize);
            long done = 0;
            // Reads are I/O-bound and compression CPU-bound: a batch keeps at least 8 records (8 reads) in flight.
            int batchSize = Math.Max(8, options.Parallelism * 4);
            var batch = new List<Job>(batchSize);
            foreach (DeltaExtent extent in delta)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (extent.Kind == ExtentKind.Data)
                {
                    for (long pos = extent.Offset; pos < extent.End; pos += recordData)
                    {
                        int length = (int)Math.Min(recordData, extent.End - pos);
                        byte[] payload = new byte[DeltaStreamFormat.DataPrefixLength + length];
                        BinaryPrimitives.WriteInt64LittleEndian(payload, pos);
                        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), length);
                        // The data is read in the parallel step, so several reads are in flight at once.
                        batch.Add(new Job(DeltaStreamFormat.TypeData, payload) { DataBytes = length, Source = delta, SourceOffset = pos });
                        if (batch.Count >= batchSize)
                        {
                            state.EmitBatch(batch);
                            done += BatchBytes(batch);
                            batch.Clear();
                            progress?.Report(new OperationProgress("Writing delta stream", Math.Min(done, total), total));
                            cancellationToken.ThrowIfCancellationRequested();
                        }
                    }
                }
                else
                {
                    byte[] payload = new byte[16];
                    BinaryPrimitives.WriteInt64LittleEndian(payload, extent.Offset);
                    BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), extent.Length);
                    ushort type = extent.Kind == ExtentKind.Zero ? DeltaStreamFormat.TypeZero : DeltaStreamFormat.TypeUnmap;
                    batch.Add(new Job(type, payload) { ZeroBytes = type == DeltaStreamFormat.TypeZero ? extent.Length : 0, UnmapBytes = type == DeltaStreamFormat.TypeUnmap ? extent.Length : 0 });
                    if (batch.Count >= 4096)
                    {
                        // Many small records: bound the batch by count too.
                        state.EmitBatch(batch);
                        done += BatchBytes(batch);
                        batch.Clear();
                    }
                }
            }
            state.EmitBatch(batch);
            done += BatchBytes(batch);
            DeltaStreamSummary summary = state.Finish();
            progress?.Report(new OperationProgress("Writing delta stream", total, total));
            return summary;
        }
        catch
        {
            state.Abandon();
            throw;
        }
    }

    private static long BatchBytes(List<Job> batch)
    {
        long n = 0;
        foreach (Job j in batch)
        {
            n += j.DataBytes + j.ZeroBytes + j.UnmapBytes;
        }
        return n;
    }

    private sealed class Job
    {
        public Job(ushort type, byte[] logical, bool plain = false)
        {
            Type = type;
            Logical = logical;
            Plain = plain;
        }

        public ushort Type { get; }

        public byte[] Logical { get; }

        public bool Plain { get; }

        public long DataBytes { get; init; }

        public long ZeroBytes { get; init; }

        public long UnmapBytes { get; init; }

        public VolumeDelta? Source { get; init; }

        public long SourceOffset { get; init; }

        public long Index { get; set; }

        public ushort Flags { get; set; }

        public byte[] Stored { get; set; } = Array.Empty<byte>();

        public uint PayloadCrc { get; set; }

        public byte[] Digest { get; } = new byte[32];
    }

    private sealed class WriterState
    {
        private readonly Stream _output;
        private readonly DeltaStreamOptions _options;
        private readonly byte[] _noncePrefix = RandomNumberGenerator.GetBytes(4);
        private readonly IncrementalHash _content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _streamId;
        private long _index;
        private long _bytes;
        private long _dataBytes;
        private long _zeroBytes;
        private long _unmapBytes;
        private (List<Job> Jobs, Task Work)? _inFlight;

        public WriterState(Stream output, DeltaStreamOptions options, DeltaStreamHeader header)
        {
            _output = output;
            _options = options;
            Header = header;
            HeaderPayload = DeltaStreamFormat.EncodeHeader(header, _noncePrefix, options.Key);
            _streamId = SHA256.HashData(HeaderPayload);
        }

        public DeltaStreamHeader Header { get; }

        public byte[] HeaderPayload { get; }

        public void WriteMagic()
        {
            Span<byte> magic = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(magic, DeltaStreamFormat.Magic);
            _output.Write(magic);
            _bytes += 8;
        }

        public void Emit(Job job)
        {
            EmitBatch(new List<Job> { job });
        }

        /// <summary>
        /// Starts reading and transforming a batch (in parallel), and meanwhile writes the previous batch: reads of one
        /// batch overlap the writes of the one before. At most two batches are in memory.
        /// </summary>
        public void EmitBatch(List<Job> jobs)
        {
            if (jobs.Count == 0)
            {
                return;
            }
            var mine = new List<Job>(jobs);
            foreach (Job job in mine)
            {
                job.Index = _index++;
            }
            Task work = Task.Run(() =>
            {
                if (mine.Count == 1)
                {
                    Transform(mine[0]);
                }
                else
                {
                    // More workers than cores: each spends most of its time waiting for its read.
                    Parallel.ForEach(mine, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, _options.Parallelism * 2) }, Transform);
                }
            });
            WriteInFlight();
            _inFlight = (mine, work);
        }

        /// <summary>Waits for a batch still being read (after a failure), so nothing touches the volume afterwards.</summary>
        public void Abandon()
        {
            if (_inFlight is { } f)
            {
                _inFlight = null;
                try
                {
                    f.Work.Wait();
                }
                catch (AggregateException)
                {
                    // The original failure is the one the caller reports.
                }
            }
        }

        private void WriteInFlight()
        {
            if (_inFlight is not { } f)
            {
                return;
            }
            _inFlight = null;
            f.Work.GetAwaiter().GetResult();
            Span<byte> frame = stackalloc byte[DeltaStreamFormat.FrameHeaderLength];
            Span<byte> crc = stackalloc byte[4];
            foreach (Job job in f.Jobs)
            {
                DeltaStreamFormat.WriteFrameHeader(frame, job.Type, job.Flags, job.Stored.Length);
                _output.Write(frame);
                _output.Write(job.Stored);
                BinaryPrimitives.WriteUInt32LittleEndian(crc, job.PayloadCrc);
                _output.Write(crc);
                _bytes += DeltaStreamFormat.FrameHeaderLength + job.Stored.Length + 4;
                _content.AppendData(job.Digest);
                _dataBytes += job.DataBytes;
                _zeroBytes += job.ZeroBytes;
                _unmapBytes += job.UnmapBytes;
            }
        }

        public DeltaStreamSummary Finish()
        {
            WriteInFlight();
            byte[] hash = _content.GetHashAndReset();
            long records = _index + 1;
            byte[] end = new byte[32 + 32];
            BinaryPrimitives.WriteInt64LittleEndian(end, records);
            BinaryPrimitives.WriteInt64LittleEndian(end.AsSpan(8), _dataBytes);
            BinaryPrimitives.WriteInt64LittleEndian(end.AsSpan(16), _zeroBytes);
            BinaryPrimitives.WriteInt64LittleEndian(end.AsSpan(24), _unmapBytes);
            hash.CopyTo(end, 32);
            Emit(new Job(DeltaStreamFormat.TypeEnd, end));
            WriteInFlight();
            _output.Flush();
            return new DeltaStreamSummary(Header, _streamId, records, _dataBytes, _zeroBytes, _unmapBytes, _bytes, hash);
        }

        private void Transform(Job job)
        {
            job.Source?.ReadData(job.SourceOffset, job.Logical.AsSpan(DeltaStreamFormat.DataPrefixLength));
            DeltaStreamFormat.RecordDigest(job.Type, job.Logical, job.Digest);
            ushort flags = DeltaStreamFormat.FlagCritical;
            byte[] stored = job.Logical;
            if (job.Type == DeltaStreamFormat.TypeData && _options.Compression != StreamCompression.None)
            {
                byte[]? compressed = StreamCodecs.Compress(_options.Compression, _options.Level, job.Logical.AsSpan(DeltaStreamFormat.DataPrefixLength));
                if (compressed != null)
                {
                    stored = new byte[DeltaStreamFormat.DataPrefixLength + compressed.Length];
                    job.Logical.AsSpan(0, DeltaStreamFormat.DataPrefixLength).CopyTo(stored);
                    compressed.CopyTo(stored, DeltaStreamFormat.DataPrefixLength);
                    flags |= DeltaStreamFormat.FlagCompressed;
                }
            }
            if (_options.Key != null && !job.Plain)
            {
                flags |= DeltaStreamFormat.FlagEncrypted;
                byte[] sealedPayload = new byte[stored.Length + DeltaStreamFormat.TagLength];
                Span<byte> nonce = stackalloc byte[DeltaStreamFormat.NonceLength];
                DeltaStreamFormat.Nonce(_noncePrefix, job.Index, nonce);
                byte[] aad = DeltaStreamFormat.AssociatedData(job.Type, flags, sealedPayload.Length, job.Index, _streamId);
                using var gcm = new AesGcm(_options.Key, DeltaStreamFormat.TagLength);
                gcm.Encrypt(nonce, stored, sealedPayload.AsSpan(0, stored.Length), sealedPayload.AsSpan(stored.Length), aad);
                stored = sealedPayload;
            }
            job.Flags = flags;
            job.Stored = stored;
            job.PayloadCrc = Crc32C.Compute(stored);
        }
    }
}
