#Requires -Version 7.4
# Tab completion of volume, snapshot, repository and backup id arguments.

BeforeAll {
    . $PSScriptRoot/Shared.ps1
    $script:Root = Initialize-SnapshotToolsTestEnvironment
    $null = New-SnapshotVolume -Name alpha -Size 1MB
    $null = New-SnapshotVolume -Name alpine -Size 1MB
    $null = New-SnapshotVolume -Name 'with space' -Size 1MB
    $null = New-VolumeSnapshot -Volume alpha -Name nightly-1
    $null = New-VolumeSnapshot -Volume alpha -Name nightly-2
    $null = New-VolumeSnapshot -Volume alpha -Name weekly-1
    $script:Repo = Join-Path $Root 'backups'
    $script:Backup = Export-Backup -Volume alpha -To nightly-1 -Repository $Repo
    Set-SnapshotToolsConfig -Repositories @{ offsite = $Repo; local = (Join-Path $Root 'local') }
}

AfterAll {
    Restore-SnapshotToolsTestEnvironment
}

Describe 'Tab completion' {
    It 'completes volume names from the store' {
        Get-Completion 'Get-SnapshotVolume -Name alp' | Should -Be @('alpha', 'alpine')
        Get-Completion 'New-VolumeSnapshot -Volume alph' | Should -Be @('alpha')
        Get-Completion 'Get-VolumeSnapshot -Volume wi' | Should -Be @("'with space'")
    }

    It 'completes snapshot names of the volume typed, newest first' {
        Get-Completion 'Get-SnapshotDelta -Volume alpha -From night' | Should -Be @('nightly-2', 'nightly-1')
        Get-Completion 'Restore-VolumeSnapshot -Volume alpha -Name w' | Should -Be @('weekly-1')
        Get-Completion 'Remove-VolumeSnapshot -Volume nosuch -Name ' | Should -BeNullOrEmpty
    }

    It 'completes repository names from the settings' {
        Get-Completion 'Get-Backup -Repository of' | Should -Be @('offsite')
        Get-Completion 'Export-Backup -Volume alpha -To nightly-2 -Repository l' | Should -Be @('local')
    }

    It 'completes backup ids of the repository typed' {
        $prefix = $Backup.BackupId.ToString().Substring(0, 4)
        Get-Completion "Test-Backup -Repository offsite -BackupId $prefix" | Should -Be @($Backup.BackupId.ToString())
    }
}
