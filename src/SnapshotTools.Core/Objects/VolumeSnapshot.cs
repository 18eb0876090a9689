using SnapshotTools.Engine;

namespace SnapshotTools;

/// <summary>A snapshot of a volume, as the module shows it (output of <c>Get-VolumeSnapshot</c>).</summary>
/// <remarks>
/// <see cref="VolumePath"/> binds to volume parameters and <see cref="SnapshotName"/> to snapshot parameters by
/// property name (a snapshot piped to <c>Get-SnapshotDelta</c> is its <c>-From</c>); <see cref="ToString"/> returns the
/// name, so <c>-From $snapshot</c> works as an argument too.
/// </remarks>
public sealed class VolumeSnapshot
{
    /// <summary>Gets the snapshot's name, unique on its volume (case-insensitive).</summary>
    public required string Name { get; init; }

    /// <summary>Gets the snapshot's name again: the property snapshot parameters bind to by property name.</summary>
    public string SnapshotName => Name;

    /// <summary>Gets the snapshot's unique id.</summary>
    public required Guid Id { get; init; }

    /// <summary>Gets the name of the volume the snapshot belongs to.</summary>
    public required string VolumeName { get; init; }

    /// <summary>Gets the full path of the volume's folder.</summary>
    public required string VolumePath { get; init; }

    /// <summary>Gets the volume id.</summary>
    public required Guid VolumeId { get; init; }

    /// <summary>Gets the volume generation the snapshot was taken in.</summary>
    public required long Generation { get; init; }

    /// <summary>Gets the snapshot's sequence number on the volume; larger is younger.</summary>
    public required long Sequence { get; init; }

    /// <summary>Gets when the snapshot was taken.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>Gets the volume size at the time of the snapshot, in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>Gets the description, or null.</summary>
    public string? Description { get; init; }

    /// <summary>Gets the byte ranges excluded from this snapshot (read as zeros, never sent).</summary>
    public required IReadOnlyList<ByteRange> ProtectedRanges { get; init; }

    /// <summary>Describes a snapshot of an open volume.</summary>
    public static VolumeSnapshot Create(SnapshotInfo info, string volumeName, string volumePath)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new VolumeSnapshot
        {
            Name = info.Name,
            Id = info.Id,
            VolumeName = volumeName,
            VolumePath = Path.GetFullPath(volumePath),
            VolumeId = info.VolumeId,
            Generation = info.Generation,
            Sequence = info.Sequence,
            CreatedUtc = info.CreatedUtc,
            Size = info.Size,
            Description = info.Description,
            ProtectedRanges = info.ProtectedRanges,
        };
    }

    /// <summary>Returns <see cref="Name"/>, so the object converts to a value any snapshot parameter accepts.</summary>
    public override string ToString() => Name;
}
