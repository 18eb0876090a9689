#!/usr/bin/env pwsh
#Requires -Version 7.4
<#
.SYNOPSIS
    Restores a volume as it was at a moment in time from a backup repository, checks it, and optionally puts it in
    place of the live volume.

.DESCRIPTION
    Finds the newest backup of the volume at or before -PointInTime, verifies its chain, and restores it into a new
    volume named <volume>-restored-<time> (or a raw image with -ImagePath). With -Replace, the live volume is then
    rolled back instead, when it still has that snapshot locally (fast: only changed chunks are rewritten);
    otherwise the restored volume is left beside it for you to switch to.

.EXAMPLE
    ./restore-point-in-time.ps1 -VolumeName db01 -PointInTime '2026-11-20 03:00' -Repository /backups
    Restores db01 as of 20 November, 03:00, into a new volume next to it.

.EXAMPLE
    ./restore-point-in-time.ps1 -VolumeName db01 -PointInTime (Get-Date).AddHours(-6) -ImagePath /tmp/db01.img
    Writes db01 as it was six hours ago to a raw image (e.g. to mount it or run fsck on it).

.EXAMPLE
    ./restore-point-in-time.ps1 -VolumeName db01 -PointInTime '2026-11-20 03:00' -Replace -Confirm
    Rolls db01 itself back to that point, asking first.
#>
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
param(
    [Parameter(Mandatory)]
    [string] $VolumeName,

    [Parameter(Mandatory)]
    [datetime] $PointInTime,

    # The repository: a folder, or a name from the settings. Default: the configured repository.
    [string] $Repository,

    # Restore into this raw image file instead of a new volume.
    [string] $ImagePath,

    # Roll the live volume back to the point in time (when it still has that snapshot), instead of restoring beside it.
    [switch] $Replace,

    # The key file of encrypted backups.
    [string] $KeyPath
)

$ErrorActionPreference = 'Stop'
Import-Module SnapshotTools -Verbose:$false   # or: Import-Module /opt/snapshottools/module/SnapshotTools.psd1

$common = @{}
if ($Repository) { $common.Repository = $Repository }
$keyArgs = @{}
if ($KeyPath) { $keyArgs.KeyPath = $KeyPath }

# 1. Which backup holds that moment? -PointInTime picks, per volume, the newest backup at or before it.
$backup = Get-Backup @common -VolumeName $VolumeName -PointInTime $PointInTime
if (-not $backup) {
    throw "No backup of '$VolumeName' at or before $PointInTime."
}
Write-Host ("Using backup {0}: snapshot '{1}' of {2:yyyy-MM-dd HH:mm:ss} ({3})" -f $backup.BackupId, $backup.SnapshotName, $backup.PointInTimeUtc.LocalDateTime, $backup.Kind)

# 2. Verify the whole chain first: a restore from a damaged chain would fail halfway.
$chain = Get-Backup @common -BackupId $backup.BackupId -Chain
$problems = $chain | Test-Backup @keyArgs | Where-Object { -not $_.IsValid }
if ($problems) {
    throw "The chain of backup $($backup.BackupId) is damaged: $(($problems.Problems) -join ' ')"
}
Write-Host "Chain of $(@($chain).Count) backup(s) verified."

# 3a. Roll back in place when the live volume still has the snapshot: only the chunks changed since are rewritten.
if ($Replace) {
    $local = Get-VolumeSnapshot -Volume $VolumeName -ErrorAction SilentlyContinue | Where-Object Id -EQ $backup.SnapshotId
    if ($local) {
        # Restore-VolumeSnapshot asks for confirmation itself (ConfirmImpact High); -Confirm/-WhatIf pass through.
        $local | Restore-VolumeSnapshot -PassThru
        return
    }
    Write-Warning "Volume '$VolumeName' no longer has snapshot '$($backup.SnapshotName)'; restoring beside it instead."
}

# 3b. Restore beside the live volume (or into an image).
if ($ImagePath) {
    $result = $backup | Restore-Backup -ImagePath $ImagePath @keyArgs
}
else {
    $target = '{0}-restored-{1:yyyyMMdd-HHmm}' -f $VolumeName, $backup.PointInTimeUtc.LocalDateTime
    $result = $backup | Restore-Backup -NewVolume $target @keyArgs
    # The restored volume has the snapshot the backup reached: check it reads exactly as that snapshot.
    $check = Compare-VolumeSnapshot -Volume $target -ReferenceSnapshot $backup.SnapshotName
    if (-not $check.Identical) {
        throw "Restored volume '$target' differs from snapshot '$($backup.SnapshotName)' ($($check.DifferentBytes) bytes)."
    }
    Write-Host "Restored into volume '$target'. To use it instead of '$VolumeName': stop the users of '$VolumeName', then"
    Write-Host "  Remove-SnapshotVolume -Volume $VolumeName   # after making sure nothing else is needed from it"
}
$result
