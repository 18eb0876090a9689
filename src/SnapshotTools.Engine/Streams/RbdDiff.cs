using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SnapshotTools.Engine.Streams;

/// <summary>
/// Ceph RBD's <c>rbd diff v1</c> format (Ceph doc/dev/rbd-diff.rst), so deltas move between Ceph RBD images
/// (<c>rbd export-diff</c> / <c>rbd import-diff</c>) and SnapshotTools volumes.
/// </summary>
/// <remarks>
/// <code>
/// "rbd diff v1\n"                                  12-byte banner
/// 'f' le32 n, name                                 from-snapshot (absent: diff from the beginning)
/// 't' le32 n, name                                 to-snapshot
/// 's' le64 size                                    image size at the to-snapshot
/// 'w' le64 offset, le64 length, data               updated data
/// 'z' le64 offset, le64 length                     zeroed (or discarded) data
/// 'e'                                              end
/// </code>
/// The format has no checksums and names snapshots only by name (Ceph checks nothing more on import). When it is
/// imported here, its structure, ranges and completeness are checked, the base is checked by name and the target
/// must be unchanged since it, and it is staged and applied all-or-nothing like a delta stream; but bytes corrupted
/// in transit cannot be detected. Prefer the SnapshotTools delta stream between SnapshotTools volumes.
/// </remarks>
public static class RbdDiff
{
    private static readonly byte[] s_banner = Encoding.ASCII.GetBytes("rbd diff v1\n");
    private const int MaxName = 4096;
    private const int Piece = 1024 * 1024;

    /// <summary>Writes <paramref name="delta"/> as an rbd diff v1 stream. Zero and unmapped extents become 'z' records.</summary>
    /// <exception cref="SnapshotToolsException">The delta ends at the live volume (rbd diffs name a to-snapshot).</exception>
    public static long Export(VolumeDelta delta, Stream output, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(output);
        SnapshotInfo to = delta.To ?? throw SnapshotToolsException.Invalid("delta", "an rbd diff must end at a snapshot");
        long written = 0;
        void Put(ReadOnlySpan<byte> bytes)
        {
            output.Write(bytes);
            written += bytes.Length;
        }
        Put(s_banner);
        Span<byte> head = stackalloc byte[17];
        if (delta.From != null)
        {
            Put(NameRecord('f', delta.From.Name));
        }
        Put(NameRecord('t', to.Name));
        head[0] = (byte)'s';
        BinaryPrimitives.WriteInt64LittleEndian(head.Slice(1), delta.ToSize);
        Put(head.Slice(0, 9));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Piece);
        try
        {
            long total = Math.Max(1, delta.ChangedChunks * (long)delta.ChunkSize);
            long done = 0;
            foreach (DeltaExtent e in delta)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (e.Kind == ExtentKind.Data)
                {
                    for (long pos = e.Offset; pos < e.End; pos += Piece)
                    {
                        int n = (int)Math.Min(Piece, e.End - pos);
                        delta.ReadData(pos, buffer.AsSpan(0, n));
                        head[0] = (byte)'w';
                        BinaryPrimitives.WriteInt64LittleEndian(head.Slice(1), pos);
                        BinaryPrimitives.WriteInt64LittleEndian(head.Slice(9), n);
                        Put(head);
                        Put(buffer.AsSpan(0, n));
                    }
                }
                else
                {
                    head[0] = (byte)'z';
                    BinaryPrimitives.WriteInt64LittleEndian(head.Slice(1), e.Offset);
                    BinaryPrimitives.WriteInt64LittleEndian(head.Slice(9), e.Length);
                    Put(head);
                }
                done += e.Length;
                progress?.Report(new OperationProgress("Writing rbd diff", Math.Min(done, total), total));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Put("e"u8);
        output.Flush();
        return written;
    }

    /// <summary>
    /// Imports an rbd diff v1 stream into <paramref name="target"/>: a diff with a from-snapshot needs the target's
    /// newest snapshot to have that name and no changes since; one without needs a target without snapshots. The
    /// to-snapshot is created when the whole stream has been read and checked; the target is unchanged otherwise.
    /// </summary>
    /// <exception cref="SnapshotToolsException">CorruptStream (bad banner, unknown record, range outside the image,
    /// records out of order), TruncatedStream (no 'e'), WrongBase, TargetModified, DuplicateImport (the to-snapshot
    /// name exists), DiskFull.</exception>
    public static ImportResult Import(Volume target, Stream input, bool force = false, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(input);
        var reader = new Reader(input);
        byte[] banner = new byte[s_banner.Length];
        reader.Exactly(banner, "its banner");
        if (!banner.AsSpan().SequenceEqual(s_banner))
        {
            throw Corrupt("it does not start with \"rbd diff v1\\n\"");
        }
        string? from = null;
        string? to = null;
        long size = -1;
        int tag;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        while (true)
        {
            tag = reader.Byte("a metadata record");
            if (tag == 'f' || tag == 't')
            {
                string name = reader.Name();
                if (tag == 'f')
                {
                    from = name;
                }
                else
                {
                    to = name;
                }
                sha.AppendData(Encoding.UTF8.GetBytes((char)tag + name + "\n"));
            }
            else if (tag == 's')
            {
                size = reader.Int64("the size record");
                if (size <= 0)
                {
                    throw Corrupt($"the image size {size} is not positive");
                }
            }
            else
            {
                break;
            }
        }
        if (to == null || size < 0)
        {
            throw Corrupt("the 't' (to-snapshot) or 's' (size) record is missing before the data");
        }

        // Identity by name: the only identity the format has.
        SnapshotInfo? baseSnapshot = null;
        if (from != null)
        {
            baseSnapshot = target.TryGetSnapshot(from)
                ?? throw new SnapshotToolsException(SnapshotErrorCode.WrongBase, $"The rbd diff is from snapshot '{from}', which volume '{target.Name}' does not have.");
        }
        IReadOnlyList<SnapshotInfo> snapshots = target.Snapshots;
        if (snapshots.Any(s => string.Equals(s.Name, to, StringComparison.OrdinalIgnoreCase)))
        {
            throw new SnapshotToolsException(SnapshotErrorCode.DuplicateImport, $"Volume '{target.Name}' already has a snapshot named '{to}': the diff was already imported.");
        }
        sha.AppendData(BitConverter.GetBytes(size));
        var header = new DeltaStreamHeader(DeltaStreamFormat.FormatVersion, target.VolumeId, target.Generation,
            baseSnapshot?.Id, baseSnapshot?.Sequence ?? 0, baseSnapshot?.Name, Guid.NewGuid(), 0, to, DateTimeOffset.UtcNow, "imported from an rbd diff",
            target.ChunkSize, baseSnapshot?.Size ?? 0, size, DateTimeOffset.UtcNow, StreamCompression.None, false);
        target.PrepareImport(header, force, progress, cancellationToken);
        using Volumes.ImportJournal journal = target.OpenImportJournal();
        journal.Begin(new Volumes.ImportState
        {
            StreamId = sha.GetHashAndReset(),
            VolumeId = target.VolumeId,
            Generation = target.Generation,
            IsFull = from == null,
            FromSnapshotId = baseSnapshot?.Id ?? Guid.Empty,
            ToSnapshotId = header.ToSnapshotId,
            ToName = to,
            ToCreatedUtc = header.ToCreatedUtc,
            ToDescription = header.ToDescription,
            ToSize = size,
        });
        long records = 0;
        long dataBytes = 0;
        long zeroBytes = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Piece);
        try
        {
            if ((baseSnapshot?.Size ?? 0) != size)
            {
                journal.Append(Volumes.ImportJournal.OpResize, size, 0, ReadOnlySpan<byte>.Empty);
            }
            long lastEnd = -1;
            while (tag != 'e')
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (tag != 'w' && tag != 'z')
                {
                    throw Corrupt(tag is 'f' or 't' or 's' ? $"metadata record '{(char)tag}' after data records" : $"unknown record tag 0x{tag:X2}");
                }
                long offset = reader.Int64("a data record");
                long length = reader.Int64("a data record");
                if (offset < 0 || length < 0 || offset > size || length > size - offset)
                {
                    throw Corrupt($"record '{(char)tag}' at offset {offset} length {length} lies outside the image size {size}");
                }
                if (offset < lastEnd)
                {
                    throw Corrupt($"record '{(char)tag}' at offset {offset} overlaps or precedes the previous record");
                }
                lastEnd = offset + length;
                if (tag == 'w')
                {
                    for (long pos = offset; pos < offset + length;)
                    {
                        int n = (int)Math.Min(Piece, offset + length - pos);
                        reader.Exactly(buffer.AsSpan(0, n), "the data of a 'w' record");
                        journal.Append(Volumes.ImportJournal.OpData, pos, n, buffer.AsSpan(0, n));
                        pos += n;
                    }
                    dataBytes += length;
                }
                else if (length > 0)
                {
                    journal.Append(Volumes.ImportJournal.OpZero, offset, length, ReadOnlySpan<byte>.Empty);
                    zeroBytes += length;
                }
                records++;
                tag = reader.Byte("the next record ('e' ends the diff)");
            }
            if (input.ReadByte() >= 0)
            {
                throw Corrupt("there is data after the 'e' record");
            }
            journal.Checkpoint(records, 0);
        }
        catch (Exception ex) when (ex is not Storage.SimulatedCrashException)
        {
            journal.Delete();
            if (ex is OperationCanceledException)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.Cancelled, $"The import of '{to}' was cancelled; volume '{target.Name}' is unchanged.");
            }
            if (ex is IOException io && SnapshotToolsException.IsDiskFull(io) && ex is not SnapshotToolsException)
            {
                throw SnapshotToolsException.DiskFull(target.Name, io);
            }
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        SnapshotInfo snapshot = target.CommitImport(journal, header, cancellationToken);
        var summary = new DeltaStreamSummary(header, journal.State?.StreamId ?? Array.Empty<byte>(), records, dataBytes, zeroBytes, 0, reader.Position, Array.Empty<byte>());
        return new ImportResult(snapshot, summary, 0);
    }

    private static byte[] NameRecord(char tag, string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        byte[] record = new byte[5 + bytes.Length];
        record[0] = (byte)tag;
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(1), bytes.Length);
        bytes.CopyTo(record, 5);
        return record;
    }

    private static SnapshotToolsException Corrupt(string detail) =>
        new(SnapshotErrorCode.CorruptStream, "The rbd diff is malformed: " + detail + ".");

    private sealed class Reader
    {
        private readonly Stream _input;

        public Reader(Stream input) => _input = input;

        public long Position { get; private set; }

        public void Exactly(Span<byte> buffer, string what)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = _input.Read(buffer.Slice(total));
                if (n == 0)
                {
                    throw new SnapshotToolsException(SnapshotErrorCode.TruncatedStream, $"The rbd diff is truncated: it ends inside {what} (offset {Position + total}).");
                }
                total += n;
            }
            Position += total;
        }

        public int Byte(string what)
        {
            Span<byte> b = stackalloc byte[1];
            Exactly(b, what);
            return b[0];
        }

        public long Int64(string what)
        {
            Span<byte> b = stackalloc byte[8];
            Exactly(b, what);
            return BinaryPrimitives.ReadInt64LittleEndian(b);
        }

        public string Name()
        {
            Span<byte> b = stackalloc byte[4];
            Exactly(b, "a snapshot name");
            int n = BinaryPrimitives.ReadInt32LittleEndian(b);
            if (n < 0 || n > MaxName)
            {
                throw Corrupt($"a snapshot name length of {n}");
            }
            byte[] name = new byte[n];
            Exactly(name, "a snapshot name");
            return Encoding.UTF8.GetString(name);
        }
    }
}
