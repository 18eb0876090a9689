namespace SnapshotTools.Core;

/// <summary>Where a volume lives: its display name and the full path of its folder.</summary>
/// <param name="Name">The name (the folder name).</param>
/// <param name="Path">The full path of the folder.</param>
public sealed record VolumeLocation(string Name, string Path)
{
    /// <inheritdoc />
    public override string ToString() => Path;
}
