using SnapshotTools.Engine;

namespace SnapshotTools;

/// <summary>
/// The differential between two points of a volume, as the module shows it (output of <c>Get-SnapshotDelta</c>): what
/// changed and how much, not an open handle. Its <see cref="VolumePath"/>, <see cref="From"/>, <see cref="To"/> and
/// <see cref="IsFull"/> bind by property name to <c>Export-Backup</c>, which computes the same differential again from
/// the snapshots' ids (<see cref="FromId"/>, <see cref="ToId"/>), so the object can travel through a pipeline, a file
/// or a job without keeping the volume open.
/// </summary>
public sealed class SnapshotDelta
{
    /// <summary>Gets the volume's name.</summary>
    public required string VolumeName { get; init; }

    /// <summary>Gets the full path of the volume's folder.</summary>
    public required string VolumePath { get; init; }

    /// <summary>Gets the volume id.</summary>
    public required Guid VolumeId { get; init; }

    /// <summary>Gets the volume generation.</summary>
    public required long Generation { get; init; }

    /// <summary>Gets the older side's snapshot name, or null for a full delta.</summary>
    public string? From { get; init; }

    /// <summary>Gets the older side's snapshot id, or null for a full delta.</summary>
    public Guid? FromId { get; init; }

    /// <summary>Gets the newer side's snapshot name, or null for the live volume.</summary>
    public string? To { get; init; }

    /// <summary>Gets the newer side's snapshot id, or null for the live volume.</summary>
    public Guid? ToId { get; init; }

    /// <summary>Gets when the newer side's snapshot was taken, or null for the live volume.</summary>
    public DateTimeOffset? ToCreatedUtc { get; init; }

    /// <summary>Gets the size of the older side (0 for a full delta).</summary>
    public required long FromSize { get; init; }

    /// <summary>Gets the size of the newer side.</summary>
    public required long ToSize { get; init; }

    /// <summary>Gets the chunk size of the volume.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>Gets whether this is a full copy rather than an incremental.</summary>
    public required bool IsFull { get; init; }

    /// <summary>Gets why a full copy was made instead of the incremental asked for, or null.</summary>
    public string? FullReason { get; init; }

    /// <summary>Gets the number of chunks in the changed set.</summary>
    public required long ChangedChunks { get; init; }

    /// <summary>Gets the bytes of data extents (what a stream carries).</summary>
    public required long DataBytes { get; init; }

    /// <summary>Gets the bytes that read as written zeros.</summary>
    public required long ZeroBytes { get; init; }

    /// <summary>Gets the bytes not in use (discarded or never written).</summary>
    public required long UnmappedBytes { get; init; }

    /// <summary>Gets the bytes of every extent: data, zero and unmapped.</summary>
    public long ChangedBytes => DataBytes + ZeroBytes + UnmappedBytes;

    /// <summary>Gets the number of extents.</summary>
    public required long ExtentCount { get; init; }

    /// <summary>Gets the extents, in ascending offset order, when they were asked for (<c>-IncludeExtents</c>); else empty.</summary>
    public IReadOnlyList<DeltaExtent> Extents { get; init; } = Array.Empty<DeltaExtent>();

    /// <summary>Describes a delta of an open volume, enumerating it once to count its extents.</summary>
    /// <param name="delta">The delta.</param>
    /// <param name="volumePath">The volume's folder.</param>
    /// <param name="includeExtents">Whether to keep the list of extents.</param>
    /// <param name="volumeName">The volume's name in its store; default the engine's display name.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public static SnapshotDelta Create(VolumeDelta delta, string volumePath, bool includeExtents, string? volumeName = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delta);
        long data = 0;
        long zero = 0;
        long unmapped = 0;
        long count = 0;
        var extents = includeExtents ? new List<DeltaExtent>() : null;
        foreach (DeltaExtent e in delta)
        {
            if ((count & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            count++;
            extents?.Add(e);
            switch (e.Kind)
            {
                case ExtentKind.Data:
                    data += e.Length;
                    break;
                case ExtentKind.Zero:
                    zero += e.Length;
                    break;
                default:
                    unmapped += e.Length;
                    break;
            }
        }
        return new SnapshotDelta
        {
            VolumeName = volumeName ?? delta.VolumeName,
            VolumePath = Path.GetFullPath(volumePath),
            VolumeId = delta.VolumeId,
            Generation = delta.Generation,
            From = delta.From?.Name,
            FromId = delta.From?.Id,
            To = delta.To?.Name,
            ToId = delta.To?.Id,
            ToCreatedUtc = delta.To?.CreatedUtc,
            FromSize = delta.FromSize,
            ToSize = delta.ToSize,
            ChunkSize = delta.ChunkSize,
            IsFull = delta.IsFull,
            FullReason = delta.FullReason,
            ChangedChunks = delta.ChangedChunks,
            DataBytes = data,
            ZeroBytes = zero,
            UnmappedBytes = unmapped,
            ExtentCount = count,
            Extents = extents ?? (IReadOnlyList<DeltaExtent>)Array.Empty<DeltaExtent>(),
        };
    }

    /// <summary>Describes the delta, e.g. <c>db01: nightly-1 -> nightly-2</c>.</summary>
    public override string ToString() => $"{VolumeName}: {From ?? "(full)"} -> {To ?? "(live)"}";
}
