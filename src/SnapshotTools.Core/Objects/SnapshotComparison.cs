using SnapshotTools.Engine;

namespace SnapshotTools;

/// <summary>How two points of a volume differ byte for byte (output of <c>Compare-VolumeSnapshot</c>).</summary>
public sealed class SnapshotComparison
{
    /// <summary>Gets the volume's name.</summary>
    public required string VolumeName { get; init; }

    /// <summary>Gets the full path of the volume's folder.</summary>
    public required string VolumePath { get; init; }

    /// <summary>Gets the reference (older) snapshot's name.</summary>
    public required string Reference { get; init; }

    /// <summary>Gets the difference (newer) snapshot's name, or null for the live volume.</summary>
    public string? Difference { get; init; }

    /// <summary>Gets the reference side's size.</summary>
    public required long ReferenceSize { get; init; }

    /// <summary>Gets the difference side's size.</summary>
    public required long DifferenceSize { get; init; }

    /// <summary>Gets the bytes the change maps list as possibly changed (what a delta would cover).</summary>
    public required long CandidateBytes { get; init; }

    /// <summary>Gets the bytes that really differ, found by reading both sides over the candidate ranges.</summary>
    public required long DifferentBytes { get; init; }

    /// <summary>Gets whether both sides read the same, byte for byte (sizes included).</summary>
    public bool Identical => DifferentBytes == 0 && ReferenceSize == DifferenceSize;

    /// <summary>Gets the ranges that differ, merged, in ascending order (at most <see cref="RangeLimit"/>).</summary>
    public required IReadOnlyList<ByteRange> DifferentRanges { get; init; }

    /// <summary>Gets whether <see cref="DifferentRanges"/> was cut at <see cref="RangeLimit"/> ranges.</summary>
    public required bool RangesTruncated { get; init; }

    /// <summary>The most ranges listed.</summary>
    public const int RangeLimit = 10_000;
}
