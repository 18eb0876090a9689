using System.Management.Automation;
using SnapshotTools.Commands.Completion;
using SnapshotTools.Core;
using SnapshotTools.Engine;

namespace SnapshotTools.Commands;

/// <summary>
/// Restore-Backup: restores a point in time (a backup, or the newest backup of a volume at or before a moment) into a
/// new volume or a raw image file. The new volume continues the source's lineage, so later incrementals import onto it.
/// </summary>
[Cmdlet(VerbsData.Restore, "Backup", DefaultParameterSetName = IdSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BackupRestoreResult))]
public sealed class RestoreBackupCommand : SnapshotToolsCmdlet
{
    private const string IdSet = "BackupId";
    private const string TimeSet = "PointInTime";

    /// <summary>Gets or sets the repository; bound from <c>Repository</c> of piped backups; default the configured one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>Gets or sets the backup to restore; bound from <c>BackupId</c> of piped backups.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public Guid BackupId { get; set; }

    /// <summary>Gets or sets the source volume's name, for a point-in-time restore.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = TimeSet)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string VolumeName { get; set; } = "";

    /// <summary>Gets or sets the moment: the newest backup at or before it is restored.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TimeSet)]
    public DateTime PointInTime { get; set; }

    /// <summary>Gets or sets the new volume to restore into (a name in the store or a folder path).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NewVolume { get; set; }

    /// <summary>Gets or sets the raw image file to restore into instead.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ImagePath { get; set; }

    /// <summary>Gets or sets whether an existing image file is replaced.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets or sets the key file of encrypted backups.</summary>
    [Parameter]
    public string? KeyPath { get; set; }

    /// <summary>Gets or sets the store folder of <c>-NewVolume</c>; default the configured store.</summary>
    [Parameter]
    public string? StoreRoot { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (string.IsNullOrEmpty(NewVolume) == string.IsNullOrEmpty(ImagePath))
        {
            ThrowSetupError(new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, "Invalid target: give exactly one of -NewVolume (a new volume) and -ImagePath (a raw image file)."), null);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        object target = ParameterSetName == IdSet ? BackupId : VolumeName;
        try
        {
            string repository = GetRepository(Repository);
            byte[]? key = ReadKey(KeyPath);
            Backup backup = ParameterSetName == IdSet ? BackupOperations.Get(repository, BackupId) : PickByTime(repository);
            string when = Format.Time(backup.PointInTimeUtc);
            if (!string.IsNullOrEmpty(NewVolume))
            {
                VolumeLocation location = GetStore(StoreRoot).ResolveNew(NewVolume);
                if (!ShouldProcess(location.Path, $"Restore '{backup.SnapshotName}' of volume '{backup.VolumeName}' ({when}) into a new volume"))
                {
                    return;
                }
                WriteObject(RunWithProgress(ProgressUnit.Bytes, (progress, token) => BackupOperations.RestoreToVolume(repository, backup.BackupId, location, key, progress, token)));
                return;
            }
            string image = PathResolution.ResolveOutputFile(this, ImagePath!);
            bool exists = File.Exists(image);
            if (exists && !Force)
            {
                throw new SnapshotToolsException(SnapshotErrorCode.TargetExists, $"'{image}' already exists. Use -Force to replace it.");
            }
            if (!ShouldProcess(image, $"{(exists ? "Replace the file with" : "Restore")} '{backup.SnapshotName}' of volume '{backup.VolumeName}' ({when}) as a raw image"))
            {
                return;
            }
            bool overwrite = Force;
            WriteObject(RunWithProgress(ProgressUnit.Bytes, (progress, token) => BackupOperations.RestoreToImage(repository, backup.BackupId, image, overwrite, key, progress, token)));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteItemError(ex, target);
        }
    }

    private Backup PickByTime(string repository)
    {
        DateTimeOffset at = ToInstant(PointInTime)!.Value;
        IReadOnlyList<Backup> found = BackupOperations.List(repository, new BackupFilter { VolumeNames = new[] { WildcardMatcher.Escape(VolumeName) }, PointInTime = at });
        if (found.Count == 0)
        {
            throw new SnapshotToolsException(SnapshotErrorCode.UnknownBackup, $"Repository '{repository}' has no backup of volume '{VolumeName}' at or before {Format.Time(at)}.");
        }
        WriteVerbose($"The newest backup of '{VolumeName}' at or before {Format.Time(at)} is {found[0].BackupId} ('{found[0].SnapshotName}', {Format.Time(found[0].PointInTimeUtc)}).");
        return found[0];
    }
}
