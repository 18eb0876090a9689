#!/usr/bin/env pwsh
#Requires -Version 7.4
<#
.SYNOPSIS
    Nightly job: snapshot every volume, back the snapshots up incrementally, verify, prune old snapshots and apply
    the retention policy to the repository.

.DESCRIPTION
    Run it from cron or a systemd timer (Linux), or Task Scheduler (Windows), once a night:

        pwsh -NoProfile -File /opt/snapshottools/examples/nightly-incremental.ps1 -Repository /backups

    Each run takes a snapshot named nightly-YYYYMMDD-HHMM of every volume in the store (volumes matching the
    configured 'exclusions' are skipped), writes it to the repository as an incremental on top of the newest snapshot
    already backed up (a full backup the first time), verifies what it wrote, keeps the newest -KeepSnapshots
    snapshots on each volume, and removes the backups the retention policy no longer keeps.

    Errors on one volume do not stop the others; the script exits 1 when anything failed, so the scheduler reports it.

.EXAMPLE
    ./nightly-incremental.ps1 -Repository /backups -WhatIf
    Shows what a run would do without changing anything.

.EXAMPLE
    ./nightly-incremental.ps1 -Repository offsite -KeyPath ~/.snapshottools/backup.key -KeepDaily 14 -KeepWeekly 8
    Backs up encrypted into the repository configured under the name 'offsite', with its own retention policy.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # The repository: a folder, or a name from the settings' 'repositories'. Default: the configured repository.
    [string] $Repository,

    # Which volumes (wildcards allowed). Default: every volume of the store.
    [string[]] $Volume = '*',

    # How many nightly snapshots to keep on each volume (the backups keep the history).
    [ValidateRange(1, 1000)]
    [int] $KeepSnapshots = 3,

    # Retention of the repository; when no count is given, the configured policy applies (if there is one).
    [int] $KeepDaily,
    [int] $KeepWeekly,
    [int] $KeepMonthly,

    # A key file to encrypt the backups with (32 bytes, 64 hex digits or base64).
    [string] $KeyPath
)

$ErrorActionPreference = 'Stop'
Import-Module SnapshotTools -Verbose:$false   # or: Import-Module /opt/snapshottools/module/SnapshotTools.psd1

$failed = 0
$stamp = 'nightly-' + (Get-Date -Format 'yyyyMMdd-HHmm')
$repositoryArgs = @{}
if ($Repository) { $repositoryArgs.Repository = $Repository }

# 1. Snapshot every volume. New-VolumeSnapshot writes one error per volume that fails (in use, disk full, ...) and
#    goes on with the others; -ErrorVariable collects them.
$snapshots = New-VolumeSnapshot -Volume $Volume -Name $stamp -Description 'nightly-incremental.ps1' -ErrorAction Continue -ErrorVariable +snapshotErrors
$failed += @($snapshotErrors).Count
Write-Verbose "Took $(@($snapshots).Count) snapshot(s) named $stamp."

# 2. Back each snapshot up: piping the snapshot binds -Volume (VolumePath) and -To (SnapshotName); with no -From,
#    Export-Backup writes an incremental from the newest snapshot already in the repository, or a full backup.
$exportArgs = @{} + $repositoryArgs
if ($KeyPath) { $exportArgs.KeyPath = $KeyPath }
$backups = $snapshots | Export-Backup @exportArgs -ErrorAction Continue -ErrorVariable +backupErrors
$failed += @($backupErrors).Count
foreach ($b in $backups) {
    Write-Verbose ("{0}: {1} backup of {2}, {3:N0} bytes" -f $b.VolumeName, $b.Kind, $b.SnapshotName, $b.StreamBytes)
}

# 3. Verify what was just written (checksums, chain, and a comparison with the snapshot itself).
$testArgs = @{}
if ($KeyPath) { $testArgs.KeyPath = $KeyPath }
$bad = $backups | Test-Backup -Deep @testArgs | Where-Object { -not $_.IsValid }
foreach ($r in $bad) {
    Write-Warning "Backup $($r.BackupId) of $($r.VolumeName) failed verification: $($r.Problems -join ' ')"
    $failed++
}

# 4. Keep the newest nightly snapshots on each volume; older points in time live on in the repository. Only
#    snapshots whose backup verified are candidates, so a failed night never loses the last good local snapshot.
foreach ($v in $snapshots | Select-Object -ExpandProperty VolumePath -Unique) {
    Get-VolumeSnapshot -Volume $v -Name 'nightly-*' |
        Sort-Object Sequence -Descending |
        Select-Object -Skip $KeepSnapshots |
        Remove-VolumeSnapshot -Force -ErrorAction Continue -ErrorVariable +pruneErrors
}
$failed += @($pruneErrors).Count

# 5. Apply the retention policy to the repository (-WhatIf on this script shows what would go, and why).
$retention = @{} + $repositoryArgs
if ($PSBoundParameters.ContainsKey('KeepDaily')) { $retention.KeepDaily = $KeepDaily }
if ($PSBoundParameters.ContainsKey('KeepWeekly')) { $retention.KeepWeekly = $KeepWeekly }
if ($PSBoundParameters.ContainsKey('KeepMonthly')) { $retention.KeepMonthly = $KeepMonthly }
$configured = (Get-SnapshotToolsConfig).Retention
if ($retention.Count -gt $repositoryArgs.Count -or $configured) {
    Remove-Backup -ApplyRetention @retention -Force -ErrorAction Continue -ErrorVariable +retentionErrors
    $failed += @($retentionErrors).Count
}
else {
    Write-Verbose 'No retention policy given or configured; keeping every backup.'
}

if ($failed -gt 0) {
    Write-Error "nightly-incremental: $failed problem(s); see the errors above." -ErrorAction Continue
    exit 1
}
Write-Verbose 'nightly-incremental: done.'
