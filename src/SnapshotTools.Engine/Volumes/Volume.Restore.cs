namespace SnapshotTools.Engine;

/// <summary>What a restore from a backup repository needs from the volume beyond the public API.</summary>
public sealed partial class Volume
{
    /// <summary>
    /// Takes a snapshot with the id, time and description of the source snapshot a restore reproduced, so the
    /// restored volume continues the source's lineage: the source's later incremental streams import onto it.
    /// </summary>
    /// <exception cref="SnapshotToolsException">The name is empty or used, the disk is full, or closed.</exception>
    internal SnapshotInfo CreateSnapshotWithIdentity(string name, string? description, Guid id, DateTimeOffset createdUtc)
    {
        ValidateName(name);
        EnterWrite();
        try
        {
            if (_snapshots.Any(s => s.Info.Id == id))
            {
                throw SnapshotToolsException.NameInUse(name, _name);
            }
            return CreateSnapshotCore(name, description, id, createdUtc);
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }
}
