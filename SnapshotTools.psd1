# Module manifest for SnapshotTools: block-level copy-on-write snapshots, exact differentials, backups and rollback.
# The build (./build.sh or ./build.ps1) lays out an importable module in ./module with this manifest.
@{
    RootModule           = 'SnapshotTools.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f1d3c2a-8b4e-4c57-9a0d-3e5b7c9f2a14'
    Author               = 'SnapshotTools contributors'
    CompanyName          = 'SnapshotTools'
    Copyright            = '(c) SnapshotTools contributors. All rights reserved.'
    Description          = 'Block-level copy-on-write volume snapshots, exact deltas between any two snapshots, incremental backups to repositories, point-in-time restore and rollback.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')

    FormatsToProcess     = @('SnapshotTools.Format.ps1xml')

    # Explicit exports: no wildcards, so Get-Command and auto-loading need not load the assembly to know them.
    CmdletsToExport      = @(
        'New-SnapshotVolume'
        'Get-SnapshotVolume'
        'Resize-SnapshotVolume'
        'Remove-SnapshotVolume'
        'Import-SnapshotVolume'
        'Export-SnapshotVolume'
        'Write-SnapshotVolume'
        'New-VolumeSnapshot'
        'Get-VolumeSnapshot'
        'Rename-VolumeSnapshot'
        'Remove-VolumeSnapshot'
        'Restore-VolumeSnapshot'
        'Compare-VolumeSnapshot'
        'Get-SnapshotDelta'
        'Export-Backup'
        'Import-Backup'
        'Get-Backup'
        'Test-Backup'
        'Restore-Backup'
        'Merge-Backup'
        'Remove-Backup'
        'Get-SnapshotToolsConfig'
        'Set-SnapshotToolsConfig'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('snapshot', 'backup', 'copy-on-write', 'block', 'volume', 'incremental', 'restore', 'Linux', 'Windows', 'macOS')
            ReleaseNotes = 'First module release: volumes, snapshots, deltas, backups, configuration.'
        }
    }
}
