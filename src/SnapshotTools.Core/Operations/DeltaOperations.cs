using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>The work of <c>Get-SnapshotDelta</c>.</summary>
public static class DeltaOperations
{
    /// <summary>
    /// Computes the differential from <paramref name="from"/> (null: a full delta) to <paramref name="to"/> (null: the
    /// live volume) and describes it; the volume is closed again before this returns.
    /// </summary>
    /// <exception cref="SnapshotToolsException">VolumeNotFound, VolumeInUse, UnknownSnapshot, InvalidSnapshotOrder,
    /// GenerationMismatch (unless <paramref name="allowFull"/>), Cancelled.</exception>
    public static SnapshotDelta Get(VolumeLocation location, string? from, string? to, bool allowFull, bool includeExtents, CancellationToken cancellationToken)
    {
        using Volume volume = VolumeOperations.Open(location);
        VolumeDelta delta = volume.GetDelta(string.IsNullOrEmpty(from) ? null : from, string.IsNullOrEmpty(to) ? null : to, new DeltaOptions { AllowFull = allowFull });
        return VolumeOperations.WrapCancel(() => SnapshotDelta.Create(delta, location.Path, includeExtents, location.Name, cancellationToken));
    }
}
