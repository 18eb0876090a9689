using SnapshotTools.Engine;

namespace SnapshotTools;

/// <summary>A volume in a store, as the module shows it (output of <c>Get-SnapshotVolume</c>).</summary>
/// <remarks>
/// <see cref="VolumePath"/> is what every volume parameter binds by property name, so a volume object feeds any volume
/// parameter whatever store it lives in; <see cref="ToString"/> returns it too, so <c>-Volume $volume</c> works.
/// </remarks>
public sealed class SnapshotVolume
{
    /// <summary>Gets the volume's name (its folder name in the store).</summary>
    public required string Name { get; init; }

    /// <summary>Gets the volume's name again, for binding by property name to <c>-VolumeName</c>-style parameters.</summary>
    public string VolumeName => Name;

    /// <summary>Gets the full path of the volume's folder.</summary>
    public required string VolumePath { get; init; }

    /// <summary>Gets the volume id; it survives re-creation.</summary>
    public required Guid VolumeId { get; init; }

    /// <summary>Gets the generation (incremented when the volume is re-created).</summary>
    public required long Generation { get; init; }

    /// <summary>Gets the size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>Gets the chunk size in bytes.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>Gets how excluded ranges are handled.</summary>
    public required ProtectionMode ProtectionMode { get; init; }

    /// <summary>Gets when this generation of the volume was created.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>Gets the number of snapshots.</summary>
    public required int SnapshotCount { get; init; }

    /// <summary>Gets the newest snapshot's name, or null when there is none.</summary>
    public string? NewestSnapshot { get; init; }

    /// <summary>Gets when the newest snapshot was taken, or null.</summary>
    public DateTimeOffset? NewestSnapshotUtc { get; init; }

    /// <summary>Gets the byte ranges excluded from snapshots taken from now on.</summary>
    public required IReadOnlyList<ByteRange> ProtectedRanges { get; init; }

    /// <summary>Gets what opening the volume found about an earlier unclean shutdown, one sentence each.</summary>
    public IReadOnlyList<string> RecoveryMessages { get; init; } = Array.Empty<string>();

    /// <summary>Describes an open volume.</summary>
    public static SnapshotVolume Create(Volume volume, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(volume);
        IReadOnlyList<SnapshotInfo> snapshots = volume.Snapshots;
        SnapshotInfo? newest = snapshots.Count == 0 ? null : snapshots[^1];
        return new SnapshotVolume
        {
            Name = name ?? new DirectoryInfo(volume.Location).Name,
            VolumePath = Path.GetFullPath(volume.Location),
            VolumeId = volume.VolumeId,
            Generation = volume.Generation,
            Size = volume.Size,
            ChunkSize = volume.ChunkSize,
            ProtectionMode = volume.ProtectionMode,
            CreatedUtc = volume.CreatedUtc,
            SnapshotCount = snapshots.Count,
            NewestSnapshot = newest?.Name,
            NewestSnapshotUtc = newest?.CreatedUtc,
            ProtectedRanges = volume.ProtectedRanges.ToArray(),
            RecoveryMessages = volume.Recovery.Messages.ToArray(),
        };
    }

    /// <summary>Returns <see cref="VolumePath"/>, so the object converts to a value any volume parameter accepts.</summary>
    public override string ToString() => VolumePath;
}
