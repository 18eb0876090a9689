namespace SnapshotTools.Engine.Streams;

/// <summary>The compression of DATA records in a delta stream.</summary>
public enum StreamCompression
{
    /// <summary>Stored as is.</summary>
    None = 0,
    /// <summary>Raw deflate (zlib-ng in the BCL); level 1 by default.</summary>
    Deflate = 1,
    /// <summary>Brotli.</summary>
    Brotli = 2,
    /// <summary>Zstandard through the system's libzstd; refused where the library is absent.</summary>
    Zstd = 3,
}

/// <summary>What a delta stream says about itself in its HEADER record.</summary>
/// <param name="FormatVersion">The stream format version.</param>
/// <param name="VolumeId">The source volume's id.</param>
/// <param name="Generation">The source volume's generation.</param>
/// <param name="FromSnapshotId">The base snapshot's id, or null for a full stream.</param>
/// <param name="FromSequence">The base snapshot's sequence number (0 for a full stream).</param>
/// <param name="FromName">The base snapshot's name (null for a full stream).</param>
/// <param name="ToSnapshotId">The snapshot the stream reaches.</param>
/// <param name="ToSequence">Its sequence number on the source.</param>
/// <param name="ToName">Its name.</param>
/// <param name="ToCreatedUtc">When it was taken.</param>
/// <param name="ToDescription">Its description.</param>
/// <param name="ChunkSize">The source volume's chunk size.</param>
/// <param name="FromSize">The volume size at the base (0 for a full stream).</param>
/// <param name="ToSize">The volume size at the snapshot the stream reaches.</param>
/// <param name="CreatedUtc">When the stream was written.</param>
/// <param name="Compression">The compression of DATA records.</param>
/// <param name="Encrypted">Whether records are encrypted (AES-256-GCM).</param>
public sealed record DeltaStreamHeader(
    int FormatVersion,
    Guid VolumeId,
    long Generation,
    Guid? FromSnapshotId,
    long FromSequence,
    string? FromName,
    Guid ToSnapshotId,
    long ToSequence,
    string ToName,
    DateTimeOffset ToCreatedUtc,
    string? ToDescription,
    int ChunkSize,
    long FromSize,
    long ToSize,
    DateTimeOffset CreatedUtc,
    StreamCompression Compression,
    bool Encrypted)
{
    /// <summary>Gets whether the stream is a full copy (no base snapshot).</summary>
    public bool IsFull => FromSnapshotId == null;
}

/// <summary>The totals of a written or verified delta stream.</summary>
/// <param name="Header">The stream's header.</param>
/// <param name="StreamId">SHA-256 of the header record: identifies this stream.</param>
/// <param name="Records">The number of records, HEADER and END included.</param>
/// <param name="DataBytes">Logical bytes carried by DATA records.</param>
/// <param name="ZeroBytes">Bytes described by ZERO records.</param>
/// <param name="UnmappedBytes">Bytes described by UNMAP records.</param>
/// <param name="StreamBytes">The length of the stream in bytes.</param>
/// <param name="ContentSha256">SHA-256 over the logical content, as carried in the END record.</param>
public sealed record DeltaStreamSummary(
    DeltaStreamHeader Header,
    byte[] StreamId,
    long Records,
    long DataBytes,
    long ZeroBytes,
    long UnmappedBytes,
    long StreamBytes,
    byte[] ContentSha256);

/// <summary>Options for writing a delta stream.</summary>
public sealed class DeltaStreamOptions
{
    /// <summary>Gets or sets the compression; default <see cref="StreamCompression.Deflate"/>.</summary>
    public StreamCompression Compression { get; set; } = StreamCompression.Deflate;

    /// <summary>Gets or sets the compression level (deflate/zstd 1 = fastest); default 1.</summary>
    public int Level { get; set; } = 1;

    /// <summary>Gets or sets the 32-byte AES-256-GCM key, or null for no encryption.</summary>
    public byte[]? Key { get; set; }

    /// <summary>Gets or sets how many records are compressed at once; default the processor count.</summary>
    public int Parallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Gets or sets the most data bytes per DATA record; default 1 MiB.</summary>
    public int RecordDataSize { get; set; } = 1024 * 1024;
}
