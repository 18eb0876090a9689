using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>Get-Backup: lists a repository's catalog by volume, snapshot, id and point in time; or the chain of a backup.</summary>
[Cmdlet(VerbsCommon.Get, "Backup", DefaultParameterSetName = ListSet)]
[OutputType(typeof(Backup))]
public sealed class GetBackupCommand : SnapshotToolsCmdlet
{
    private const string ListSet = "List";
    private const string ChainSet = "Chain";

    /// <summary>Gets or sets the repository (a configured name or a folder); default the configured one. Bound from <c>Repository</c> of piped backups.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets volume names (wildcards allowed); bound from <c>VolumeName</c> of piped volumes and snapshots.</summary>
    [Parameter(ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Volume")]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[]? VolumeName { get; set; }

    /// <summary>Gets or sets snapshot names (wildcards allowed); bound from <c>SnapshotName</c> of piped snapshots.</summary>
    [Parameter(ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? SnapshotName { get; set; }

    /// <summary>Gets or sets backup ids; bound from <c>BackupId</c> of piped backups. With <c>-Chain</c>, the backup whose chain is listed.</summary>
    [Parameter(ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ChainSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid[]? BackupId { get; set; }

    /// <summary>Gets or sets the earliest point in time listed.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public DateTime? After { get; set; }

    /// <summary>Gets or sets the latest point in time listed.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public DateTime? Before { get; set; }

    /// <summary>Gets or sets a moment: lists, per volume, the newest backup at or before it (what a point-in-time restore uses).</summary>
    [Parameter(ParameterSetName = ListSet)]
    public DateTime? PointInTime { get; set; }

    /// <summary>Gets or sets whether only the newest backup of each volume is listed.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public SwitchParameter Latest { get; set; }

    /// <summary>Gets or sets whether the chain that restores <c>-BackupId</c> is listed, full backup first.</summary>
    [Parameter(ParameterSetName = ChainSet, Mandatory = true)]
    public SwitchParameter Chain { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string repository;
        try
        {
            repository = GetRepository(Repository);
        }
        catch (SnapshotTools.Engine.SnapshotToolsException ex)
        {
            ThrowSetupError(ex, Repository);
            return;
        }
        try
        {
            if (ParameterSetName == ChainSet)
            {
                foreach (Guid id in BackupId!)
                {
                    try
                    {
                        WriteObject(BackupOperations.Chain(repository, id), enumerateCollection: true);
                    }
                    catch (Exception ex) when (ex is not PipelineStoppedException)
                    {
                        WriteItemError(ex, id);
                    }
                }
                return;
            }
            var filter = new BackupFilter
            {
                VolumeNames = VolumeName,
                SnapshotNames = SnapshotName,
                BackupIds = BackupId,
                After = ToInstant(After),
                Before = ToInstant(Before),
                PointInTime = ToInstant(PointInTime),
                Latest = Latest,
            };
            IReadOnlyList<Backup> found = BackupOperations.List(repository, filter);
            if (BackupId is { Length: > 0 })
            {
                foreach (Guid id in BackupId.Where(id => !found.Any(b => b.BackupId == id)))
                {
                    WriteItemError(new SnapshotTools.Engine.SnapshotToolsException(SnapshotTools.Engine.SnapshotErrorCode.UnknownBackup, $"Repository '{repository}' has no backup {id}."), id);
                }
            }
            WriteObject(found, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, repository);
        }
    }
}
