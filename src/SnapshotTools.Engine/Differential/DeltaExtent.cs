namespace SnapshotTools.Engine;

/// <summary>What an extent of a delta holds as of the newer side.</summary>
public enum ExtentKind
{
    /// <summary>Data: read it with <see cref="VolumeDelta.ReadData"/>.</summary>
    Data = 0,
    /// <summary>The range reads as zeros and was written as zeros (allocated).</summary>
    Zero = 1,
    /// <summary>The range is not in use (discarded or never written); it reads as zeros.</summary>
    Unmapped = 2,
}

/// <summary>One extent of a delta: bytes [<see cref="Offset"/>, <see cref="Offset"/> + <see cref="Length"/>) and what they hold.</summary>
public readonly record struct DeltaExtent(long Offset, long Length, ExtentKind Kind)
{
    /// <summary>Gets the first byte after the extent.</summary>
    public long End => Offset + Length;
}

/// <summary>Options of a differential.</summary>
public sealed class DeltaOptions
{
    /// <summary>
    /// Gets or sets whether a differential that cannot be computed exactly (base snapshot from an earlier generation,
    /// deleted base, untrusted change map) is reported as a full copy instead of failing. The result says why.
    /// </summary>
    public bool AllowFull { get; set; }
}
