#Requires -Version 7.4
# The administrator workflows end to end: create, write, snapshot, delta, back up, import elsewhere, verify,
# restore a point in time, roll back, compare, remove (with -WhatIf first), retention.

BeforeAll {
    . $PSScriptRoot/Shared.ps1
    $script:Root = Initialize-SnapshotToolsTestEnvironment
    $script:Repo = Join-Path $Root 'backups'
    $script:Replicas = Join-Path $Root 'replicas'
}

AfterAll {
    Restore-SnapshotToolsTestEnvironment
}

Describe 'Volumes and snapshots' {
    It 'creates a volume in the store' {
        $v = New-SnapshotVolume -Name db01 -Size 8MB
        $v.Name | Should -Be 'db01'
        $v.Size | Should -Be 8MB
        $v.SnapshotCount | Should -Be 0
        $v.VolumePath | Should -Be (Join-Path $env:SNAPSHOTTOOLS_STORE 'db01')
        Get-SnapshotVolume -Name db* | ForEach-Object Name | Should -Be 'db01'
    }

    It 'writes data and takes snapshots, also from piped volumes' {
        Write-SnapshotVolume -Volume db01 -Value (New-TestBytes 300000 1) -Offset 0
        $s1 = Get-SnapshotVolume db01 | New-VolumeSnapshot -Name nightly-1 -Description 'first'
        $s1.Name | Should -Be 'nightly-1'
        $s1.VolumeName | Should -Be 'db01'
        Write-SnapshotVolume -Volume db01 -Value (New-TestBytes 70000 2) -Offset 2MB
        $s2 = New-VolumeSnapshot -Volume db01 -Name nightly-2
        $s2.Sequence | Should -BeGreaterThan $s1.Sequence
        (Get-VolumeSnapshot -Volume db01).Name | Should -Be @('nightly-1', 'nightly-2')
        (Get-VolumeSnapshot -Volume db01 -Name night*-2).Name | Should -Be 'nightly-2'
        (Get-VolumeSnapshot -Volume db01 -Newest 1).Name | Should -Be 'nightly-2'
    }

    It 'computes deltas from snapshot objects, by pipeline or by argument' {
        $delta = Get-VolumeSnapshot -Volume db01 -Name nightly-1 | Get-SnapshotDelta -To nightly-2
        $delta.From | Should -Be 'nightly-1'
        $delta.To | Should -Be 'nightly-2'
        $delta.IsFull | Should -BeFalse
        $delta.DataBytes | Should -BeGreaterOrEqual 70000
        $delta.DataBytes | Should -BeLessThan 1MB
        $base = Get-VolumeSnapshot -Volume db01 -Name nightly-1
        (Get-SnapshotDelta -Volume db01 -From $base -To nightly-2).DataBytes | Should -Be $delta.DataBytes
        $full = Get-SnapshotDelta -Volume db01 -To nightly-1 -IncludeExtents
        $full.IsFull | Should -BeTrue
        $full.Extents.Count | Should -Be $full.ExtentCount
        $live = Get-SnapshotDelta -Volume db01 -From nightly-2
        $live.To | Should -BeNullOrEmpty
        $live.DataBytes | Should -Be 0
    }

    It 'compares snapshots byte for byte' {
        $c = Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-1 -DifferenceSnapshot nightly-2
        $c.Identical | Should -BeFalse
        $c.DifferentBytes | Should -BeGreaterThan 60000
        (Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-2).Identical | Should -BeTrue
    }

    It 'renames a snapshot, by name and from the pipeline' {
        Rename-VolumeSnapshot -Volume db01 -Name nightly-2 -NewName tmp -PassThru | ForEach-Object Name | Should -Be 'tmp'
        Get-VolumeSnapshot -Volume db01 -Name tmp | Rename-VolumeSnapshot -NewName nightly-2
        (Get-VolumeSnapshot -Volume db01).Name | Should -Be @('nightly-1', 'nightly-2')
    }

    It 'resizes a volume; snapshots keep their size' {
        Resize-SnapshotVolume -Volume db01 -Size 12MB -PassThru | ForEach-Object Size | Should -Be 12MB
        (Get-VolumeSnapshot -Volume db01 -Name nightly-2).Size | Should -Be 8MB
        Resize-SnapshotVolume -Volume db01 -Size 8MB
    }

    It 'exports a snapshot to a raw image and imports it as a new volume' {
        $image = Join-Path $Root 'n2.img'
        $file = Export-SnapshotVolume -Volume db01 -Snapshot nightly-2 -Path $image -PassThru
        $file.Length | Should -Be 8MB
        { Export-SnapshotVolume -Volume db01 -Path $image -ErrorAction Stop } | Should -Throw -ErrorId 'TargetExists,SnapshotTools.Commands.ExportSnapshotVolumeCommand'
        $imported = Get-Item -LiteralPath $image | Import-SnapshotVolume
        $imported.Name | Should -Be 'n2'
        $copy = Join-Path $Root 'n2-copy.img'
        Export-SnapshotVolume -Volume n2 -LiteralPath $copy
        (Get-FileHash -LiteralPath $copy).Hash | Should -Be (Get-FileHash -LiteralPath $image).Hash
    }
}

Describe 'Backups' {
    It 'backs up a full delta and an incremental through the pipeline' {
        $full = Get-SnapshotDelta -Volume db01 -To nightly-1 | Export-Backup -Repository $Repo
        $full.Kind | Should -Be 'Full'
        $incr = Get-SnapshotDelta -Volume db01 -From nightly-1 -To nightly-2 | Export-Backup -Repository $Repo
        $incr.Kind | Should -Be 'Incremental'
        $incr.BaseBackupId | Should -Be $full.BackupId
        $incr.From | Should -Be 'nightly-1'
        Test-Path -LiteralPath $incr.StreamPath | Should -BeTrue
    }

    It 'backs up the nightly way: the newest snapshot, incremental from the last one backed up' {
        Write-SnapshotVolume -Volume db01 -Value (New-TestBytes 5000 3) -Offset 5MB
        $null = New-VolumeSnapshot -Volume db01 -Name nightly-3
        $b = Get-VolumeSnapshot -Volume db01 -Newest 1 | Export-Backup -Repository $Repo
        $b.Kind | Should -Be 'Incremental'
        $b.From | Should -Be 'nightly-2'
        (Get-Backup -Repository $Repo -VolumeName db01).SnapshotName | Should -Be @('nightly-1', 'nightly-2', 'nightly-3')
    }

    It 'uses the configured default repository' {
        Set-SnapshotToolsConfig -Repository $Repo
        (Get-Backup).Count | Should -Be 3
        (Get-Backup -Latest).SnapshotName | Should -Be 'nightly-3'
        @(Get-Backup -BackupId (Get-Backup -Latest).BackupId -Chain).Count | Should -Be 3
    }

    It 'verifies every backup, deeply against the snapshots too' {
        $results = Get-Backup -Repository $Repo | Test-Backup -Deep
        $results.Count | Should -Be 3
        $results | ForEach-Object { $_.IsValid | Should -BeTrue }
        ($results | Where-Object DeepCompared).Count | Should -Be 3
        Test-Backup -Repository $Repo -Quiet | Should -BeTrue
    }

    It 'finds a corrupted stream' {
        $victim = Get-Backup -Repository $Repo -SnapshotName nightly-3
        $saved = [System.IO.File]::ReadAllBytes($victim.StreamPath)
        try {
            $bad = [byte[]]$saved.Clone()
            $bad[$bad.Length - 40] = $bad[$bad.Length - 40] -bxor 0xFF
            [System.IO.File]::WriteAllBytes($victim.StreamPath, $bad)
            $r = $victim | Test-Backup -WarningAction SilentlyContinue
            $r.IsValid | Should -BeFalse
            $r.Problems | Should -Not -BeNullOrEmpty
            Test-Backup -Repository $Repo -Quiet -WarningAction SilentlyContinue | Should -BeFalse
        }
        finally {
            [System.IO.File]::WriteAllBytes($victim.StreamPath, $saved)
        }
    }

    It 'imports the backups elsewhere and skips what the replica already has' {
        $replica = Join-Path $Replicas 'db01-replica'
        $imported = Get-Backup -Repository $Repo -VolumeName db01 | Import-Backup -Volume $replica
        $imported.Name | Should -Be @('nightly-1', 'nightly-2', 'nightly-3')
        @(Get-Backup -Repository $Repo -VolumeName db01 | Import-Backup -Volume $replica).Count | Should -Be 0
        $a = Join-Path $Root 'source-n3.img'
        $b = Join-Path $Root 'replica-n3.img'
        Export-SnapshotVolume -Volume db01 -Snapshot nightly-3 -Path $a
        Export-SnapshotVolume -Volume $replica -Snapshot nightly-3 -Path $b
        (Get-FileHash $b).Hash | Should -Be (Get-FileHash $a).Hash
    }

    It 'imports stream files by path' {
        $streams = Join-Path $Root 'streams'
        $null = New-Item -ItemType Directory -Path $streams -Force
        Get-Backup -Repository $Repo -VolumeName db01 | ForEach-Object -Begin { $i = 0 } -Process {
            Copy-Item -LiteralPath $_.StreamPath -Destination (Join-Path $streams ('{0:d2}.stdelta' -f $i++))
        }
        $target = Join-Path $Replicas 'from-files'
        (Import-Backup -Volume $target -Path (Join-Path $streams '*.stdelta')).Name | Should -Be @('nightly-1', 'nightly-2', 'nightly-3')
    }

    It 'restores a point in time into a new volume and into an image' {
        $n2 = Get-VolumeSnapshot -Volume db01 -Name nightly-2
        $r = Restore-Backup -Repository $Repo -VolumeName db01 -PointInTime $n2.CreatedUtc.LocalDateTime -NewVolume db01-at-n2
        $r.Backup.SnapshotName | Should -Be 'nightly-2'
        $r.Volume.NewestSnapshot | Should -Be 'nightly-2'
        (Compare-VolumeSnapshot -Volume db01-at-n2 -ReferenceSnapshot nightly-2).Identical | Should -BeTrue
        $image = Join-Path $Root 'latest.img'
        $ri = Get-Backup -Repository $Repo -VolumeName db01 -Latest | Restore-Backup -ImagePath $image
        $ri.IsVolume | Should -BeFalse
        $expected = Join-Path $Root 'expected-latest.img'
        Export-SnapshotVolume -Volume db01 -Snapshot nightly-3 -Path $expected
        (Get-FileHash $image).Hash | Should -Be (Get-FileHash $expected).Hash
        { Get-Backup -Repository $Repo -Latest | Restore-Backup -ImagePath $image -ErrorAction Stop } | Should -Throw -ErrorId 'TargetExists,SnapshotTools.Commands.RestoreBackupCommand'
    }

    It 'merges a chain into a synthetic full backup' {
        $merged = Get-Backup -Repository $Repo -VolumeName db01 -Latest | Merge-Backup
        $merged.Kind | Should -Be 'Full'
        $merged.IsSynthetic | Should -BeTrue
        ($merged | Test-Backup).IsValid | Should -BeTrue
    }

    It 'previews retention with -WhatIf, then applies it' {
        $before = @(Get-Backup -Repository $Repo).Count
        Remove-Backup -Repository $Repo -ApplyRetention -KeepLast 1 -WhatIf
        @(Get-Backup -Repository $Repo).Count | Should -Be $before
        $removed = Remove-Backup -Repository $Repo -ApplyRetention -KeepLast 1 -Force -PassThru
        $removed.Count | Should -BeGreaterThan 0
        $left = @(Get-Backup -Repository $Repo)
        $left.Count | Should -Be ($before - $removed.Count)
        $left.SnapshotName | Should -Contain 'nightly-3'
        (Test-Backup -Repository $Repo -Quiet) | Should -BeTrue
    }

    It 'refuses to remove a backup others depend on, unless told to' {
        $null = New-VolumeSnapshot -Volume db01 -Name nightly-4
        $b4 = Export-Backup -Volume db01 -To nightly-4 -Repository $Repo
        $base = Get-Backup -Repository $Repo -BackupId $b4.BaseBackupId
        { $base | Remove-Backup -Force -ErrorAction Stop } | Should -Throw -ErrorId 'BackupHasDependents,SnapshotTools.Commands.RemoveBackupCommand'
        $gone = $base | Remove-Backup -WithDependents -Force -PassThru
        $gone.BackupId | Should -Contain $b4.BackupId
    }
}

Describe 'Rollback and removal' {
    It 'rolls back to a snapshot after -WhatIf changed nothing' {
        Write-SnapshotVolume -Volume db01 -Value (New-TestBytes 4096 9) -Offset 0
        Restore-VolumeSnapshot -Volume db01 -Name nightly-1 -WhatIf
        (Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-1).Identical | Should -BeFalse
        $v = Get-VolumeSnapshot -Volume db01 -Name nightly-1 | Restore-VolumeSnapshot -Force -PassThru
        $v.SnapshotCount | Should -Be 4
        (Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-1).Identical | Should -BeTrue
        (Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-3 -DifferenceSnapshot nightly-3 -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }

    It 'removes snapshots with -WhatIf first' {
        Remove-VolumeSnapshot -Volume db01 -Name nightly-* -WhatIf
        (Get-VolumeSnapshot -Volume db01).Count | Should -Be 4
        Get-VolumeSnapshot -Volume db01 -Name nightly-2 | Remove-VolumeSnapshot -Force
        (Get-VolumeSnapshot -Volume db01).Name | Should -Be @('nightly-1', 'nightly-3', 'nightly-4')
    }

    It 'removes volumes with -WhatIf first' {
        Remove-SnapshotVolume -Volume n2, db01-at-n2 -WhatIf
        (Get-SnapshotVolume -Name n2, db01-at-n2).Count | Should -Be 2
        $removed = Get-SnapshotVolume -Name n2, db01-at-n2 | Remove-SnapshotVolume -Force -PassThru
        $removed.Name | Should -Be @('n2', 'db01-at-n2')
        Get-SnapshotVolume -Name n2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
