#!/usr/bin/env pwsh
#Requires -Version 7.4
# The main job through the PowerShell module: the same end-to-end run as the engine example, the way an
# administrator writes it. Usage: pwsh -NoProfile -File examples/demo.ps1 -Store ./demo-store/ps
param([Parameter(Mandatory)] [string] $Store)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../module/SnapshotTools.psd1')
$Store = [System.IO.Path]::GetFullPath($Store)
Remove-Item -LiteralPath $Store -Recurse -Force -ErrorAction SilentlyContinue
$null = New-Item -ItemType Directory -Path $Store
# Keep the demo's settings and store to itself, not the user's.
$env:SNAPSHOTTOOLS_CONFIG = Join-Path $Store 'config.yaml'
$env:SNAPSHOTTOOLS_STORE = Join-Path $Store 'volumes'
$repository = Join-Path $Store 'backups'

$volume = New-SnapshotVolume -Name db01 -Size 64MB
$volume | Format-Table -AutoSize | Out-String | Write-Host
$data = [byte[]]::new(4MB)
[System.Security.Cryptography.RandomNumberGenerator]::Fill($data)
Write-SnapshotVolume -Volume db01 -Value $data -Offset 0
New-VolumeSnapshot -Volume db01 -Name nightly-1 | Format-Table -AutoSize | Out-String | Write-Host

Write-SnapshotVolume -Volume db01 -Value ([byte[]]::new(4096) | ForEach-Object { 0xAB }) -Offset (1MB + 100)
New-VolumeSnapshot -Volume db01 -Name nightly-2 | Out-Null

# The pipeline administrators write: a full backup, then the incremental.
Get-SnapshotDelta -Volume db01 -To nightly-1 | Export-Backup -Repository $repository | Out-Null
$delta = Get-SnapshotDelta -Volume db01 -From nightly-1 -To nightly-2
Write-Host ("Delta nightly-1 -> nightly-2: {0} changed chunk(s), {1} data bytes" -f $delta.ChangedChunks, $delta.DataBytes)
$delta | Export-Backup -Repository $repository | Out-Null
Get-Backup -Repository $repository | Format-Table -AutoSize | Out-String | Write-Host

$check = Get-Backup -Repository $repository | Test-Backup -Deep
if (@($check | Where-Object { -not $_.IsValid }).Count -gt 0) { throw 'A backup failed verification.' }
Write-Host 'Verified every backup deeply (checksums, content hash, and against the live snapshots).'

Restore-VolumeSnapshot -Volume db01 -Name nightly-1 -Force | Out-Null
Write-Host "Rolled db01 back to nightly-1."
Get-VolumeSnapshot -Volume db01 | Format-Table -AutoSize | Out-String | Write-Host
