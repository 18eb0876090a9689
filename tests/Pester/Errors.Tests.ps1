#Requires -Version 7.4
# Stable error ids and categories; a failing pipeline item is a non-terminating error whose target is the item.

BeforeAll {
    . $PSScriptRoot/Shared.ps1
    $script:Root = Initialize-SnapshotToolsTestEnvironment
    $null = New-SnapshotVolume -Name e1 -Size 1MB
    $null = New-VolumeSnapshot -Volume e1 -Name s1
    $script:Repo = Join-Path $Root 'backups'
}

AfterAll {
    Restore-SnapshotToolsTestEnvironment
}

Describe 'Error ids' {
    It 'reports <Id> from <Command>' -ForEach @(
        @{ Id = 'UnknownSnapshot'; Command = 'GetVolumeSnapshotCommand'; Script = { Get-VolumeSnapshot -Volume e1 -Name nope -ErrorAction Stop } }
        @{ Id = 'VolumeNotFound'; Command = 'GetSnapshotVolumeCommand'; Script = { Get-SnapshotVolume -Name nosuch -ErrorAction Stop } }
        @{ Id = 'VolumeNotFound'; Command = 'GetSnapshotDeltaCommand'; Script = { Get-SnapshotDelta -Volume nosuch -To x -ErrorAction Stop } }
        @{ Id = 'VolumeExists'; Command = 'NewSnapshotVolumeCommand'; Script = { New-SnapshotVolume -Name e1 -Size 1MB -ErrorAction Stop } }
        @{ Id = 'NameInUse'; Command = 'NewVolumeSnapshotCommand'; Script = { New-VolumeSnapshot -Volume e1 -Name S1 -ErrorAction Stop } }
        @{ Id = 'InvalidArgument'; Command = 'NewSnapshotVolumeCommand'; Script = { New-SnapshotVolume -Name 'bad*name' -Size 1MB -ErrorAction Stop } }
        @{ Id = 'OutOfRange'; Command = 'WriteSnapshotVolumeCommand'; Script = { Write-SnapshotVolume -Volume e1 -Value ([byte[]]::new(10)) -Offset (1MB - 5) -ErrorAction Stop } }
        @{ Id = 'InvalidSnapshotOrder'; Command = 'GetSnapshotDeltaCommand'; Script = { New-VolumeSnapshot -Volume e1 -Name s2 | Out-Null; Get-SnapshotDelta -Volume e1 -From s2 -To s1 -ErrorAction Stop } }
        @{ Id = 'RepositoryNotFound'; Command = 'GetBackupCommand'; Script = { Get-Backup -Repository (Join-Path $Root 'no-repo') -ErrorAction Stop } }
        @{ Id = 'UnknownBackup'; Command = 'TestBackupCommand'; Script = { Export-Backup -Volume e1 -To s1 -Repository $Repo | Out-Null; Test-Backup -Repository $Repo -BackupId ([guid]::NewGuid()) -ErrorAction Stop } }
        @{ Id = 'DuplicateBackup'; Command = 'ExportBackupCommand'; Script = { Export-Backup -Volume e1 -To s1 -Full -Repository $Repo -ErrorAction SilentlyContinue | Out-Null; Export-Backup -Volume e1 -To s1 -Full -Repository $Repo -ErrorAction Stop } }
        @{ Id = 'MissingLink'; Command = 'ExportBackupCommand'; Script = { New-VolumeSnapshot -Volume e1 -Name s3 | Out-Null; New-VolumeSnapshot -Volume e1 -Name s4 | Out-Null; Export-Backup -Volume e1 -From s3 -To s4 -Repository $Repo -ErrorAction Stop } }
        @{ Id = 'InvalidArgument'; Command = 'ExportBackupCommand'; Script = { Get-SnapshotDelta -Volume e1 -From s1 | Export-Backup -Repository $Repo -ErrorAction Stop } }
        @{ Id = 'FileNotFound'; Command = 'ImportSnapshotVolumeCommand'; Script = { Import-SnapshotVolume -LiteralPath (Join-Path $Root 'missing.img') -ErrorAction Stop } }
        @{ Id = 'InvalidPolicy'; Command = 'GetSnapshotToolsConfigCommand'; Script = { $bad = Join-Path $Root 'bad.yaml'; Set-Content -LiteralPath $bad -Value 'compression: lz77'; Get-SnapshotToolsConfig -Path $bad } }
    ) {
        { & $Script } | Should -Throw -ErrorId "$Id,SnapshotTools.Commands.$Command"
    }

    It 'maps engine codes to proper categories' {
        $e = $null
        Get-VolumeSnapshot -Volume e1 -Name nope -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        New-VolumeSnapshot -Volume e1 -Name s1 -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }
}

Describe 'Pipeline errors' {
    It 'writes a non-terminating error per failing item, with the item as target, and goes on' {
        $null = New-SnapshotVolume -Name e2 -Size 1MB
        $errors = $null
        $out = 'e1', 'missing-volume', 'e2' | ForEach-Object { [pscustomobject]@{ VolumePath = $_ } } |
            New-VolumeSnapshot -Name batch -ErrorVariable errors -ErrorAction SilentlyContinue
        $out.VolumeName | Should -Be @('e1', 'e2')
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'VolumeNotFound,SnapshotTools.Commands.NewVolumeSnapshotCommand'
        $errors[0].TargetObject | Should -Be 'missing-volume'
    }

    It 'names each missing snapshot and still lists the others' {
        $errors = $null
        $found = Get-VolumeSnapshot -Volume e1 -Name s1, ghost -ErrorVariable errors -ErrorAction SilentlyContinue
        $found.Name | Should -Be 's1'
        $errors[0].TargetObject | Should -Be 'ghost'
    }

    It 'does not treat a wildcard that matches nothing as an error' {
        $errors = $null
        Get-VolumeSnapshot -Volume e1 -Name 'zz*' -ErrorVariable errors | Should -BeNullOrEmpty
        $errors.Count | Should -Be 0
    }

    It 'reports missing input files like Get-FileHash does' {
        $errors = $null
        Import-SnapshotVolume -Path (Join-Path $Root 'nothing-*.img') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 0
        Import-SnapshotVolume -LiteralPath (Join-Path $Root 'absent.img') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -Match '^FileNotFound,'
        $errors[0].TargetObject | Should -Match 'absent\.img$'
    }

    It 'stops with a terminating error when no repository is known' {
        $saved = Get-SnapshotToolsConfig
        Set-SnapshotToolsConfig -Repository ''
        try {
            { Get-Backup } | Should -Throw -ErrorId 'RepositoryNotFound,SnapshotTools.Commands.GetBackupCommand'
        }
        finally {
            if ($saved.Repository) { Set-SnapshotToolsConfig -Repository $saved.Repository }
        }
    }
}
