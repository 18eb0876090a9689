#Requires -Version 7.4
# Long operations: progress records, Ctrl+C (the pipeline stopped) removes half-written output, a busy volume is
# reported as such; -Verbose; settings.

BeforeAll {
    . $PSScriptRoot/Shared.ps1
    $script:Root = Initialize-SnapshotToolsTestEnvironment
    $script:ModulePath = Get-SnapshotToolsModulePath
    # 64 MiB of incompressible data: Brotli at level 11 takes many seconds over it, long enough to interrupt.
    $null = New-SnapshotVolume -Name big -Size 64MB
    $chunk = [byte[]]::new(16MB)
    for ($i = 0; $i -lt 4; $i++) {
        [System.Security.Cryptography.RandomNumberGenerator]::Fill($chunk)
        Write-SnapshotVolume -Volume big -Value $chunk -Offset ($i * 16MB)
    }
    $null = New-VolumeSnapshot -Volume big -Name s1

    # Runs a script in a second runspace of this process, with the module and the same settings.
    # One statement, not a batch of two: stopping a batch while it runs can crash the host process (PowerShell
    # continues the batch on a thread-pool thread against the closed runspace), so the import is part of the script.
    function script:Start-InRunspace {
        param([scriptblock] $Script, [object[]] $Arguments = @())
        $ps = [powershell]::Create()
        $text = "param(`$__module, [object[]] `$__arguments)`nImport-Module `$__module`n& {" + $Script.ToString() + "} @__arguments"
        $null = $ps.AddScript($text).AddArgument($ModulePath).AddArgument($Arguments)
        $ps
    }
}

AfterAll {
    Restore-SnapshotToolsTestEnvironment
}

Describe 'Progress' {
    It 'reuses one progress record with a percentage and ends with Completed' {
        $image = Join-Path $Root 'progress.img'
        $ps = Start-InRunspace { param($img) Export-SnapshotVolume -Volume big -Snapshot s1 -Path $img } @($image)
        try {
            $null = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $records = @($ps.Streams.Progress)
            $records.Count | Should -BeGreaterThan 1
            # One record, updated and written again: the stream holds the same object each time.
            foreach ($r in $records) { [object]::ReferenceEquals($r, $records[0]) | Should -BeTrue }
            $records[-1].RecordType | Should -Be 'Completed'
            $records[-1].PercentComplete | Should -Be 100
            $records[-1].Activity | Should -Match 'Exporting'
            # Throttled: far fewer updates than the engine's per-chunk reports (64 MiB in 64 KiB chunks).
            $records.Count | Should -BeLessThan 200
        }
        finally {
            $ps.Dispose()
        }
    }
}

Describe 'Stopping' {
    It 'stops a backup promptly, leaves no partial stream, and the volume works afterwards' {
        $repo = Join-Path $Root 'stop-repo'
        $ps = Start-InRunspace { param($r) Export-Backup -Volume big -To s1 -Repository $r -Compression Brotli -CompressionLevel 11 } @($repo)
        try {
            $handle = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 1500
            if ($handle.IsCompleted) {
                Set-ItResult -Inconclusive -Because 'the backup finished before it could be stopped'
                return
            }
            # The volume is in use while the backup reads it.
            { New-VolumeSnapshot -Volume big -Name during -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeInUse,SnapshotTools.Commands.NewVolumeSnapshotCommand'
            # Stopped, not Completed: the stop took effect before the backup finished (no timing assertion here;
            # timing belongs in benchmarks).
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally {
            $ps.Dispose()
        }
        Get-ChildItem -LiteralPath $repo -Recurse -File -Filter '*.partial' | Should -BeNullOrEmpty
        @(Get-Backup -Repository $repo).Count | Should -Be 0
        (New-VolumeSnapshot -Volume big -Name after).Name | Should -Be 'after'
    }

    It 'stops an image export and removes the half-written image' {
        $image = Join-Path $Root 'stopped.img'
        $ps = Start-InRunspace { param($img) Export-SnapshotVolume -Volume big -Snapshot s1 -Path $img } @($image)
        try {
            $handle = $ps.BeginInvoke()
            # Stop it as soon as it is writing (or has written) the image.
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Test-Path -LiteralPath "$image.partial") -and -not $handle.IsCompleted -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 5
            }
            $ps.Stop()
        }
        finally {
            $ps.Dispose()
        }
        Test-Path -LiteralPath "$image.partial" | Should -BeFalse
    }
}

Describe 'Verbose output and settings' {
    It 'tells what it does with -Verbose' {
        $verbose = New-VolumeSnapshot -Volume big -Name v1 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $verbose | Should -Not -BeNullOrEmpty
        $v = Remove-VolumeSnapshot -Volume big -Name v1 -Force -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($v.Message -join ' ') | Should -Match "Removed snapshot 'v1'"
    }

    It 'reads and writes the YAML settings, keeping keys it does not know' {
        Add-Content -LiteralPath $env:SNAPSHOTTOOLS_CONFIG -Value 'future-key: 1' -ErrorAction SilentlyContinue
        if (-not (Test-Path -LiteralPath $env:SNAPSHOTTOOLS_CONFIG)) { Set-Content -LiteralPath $env:SNAPSHOTTOOLS_CONFIG -Value 'future-key: 1' }
        $c = Set-SnapshotToolsConfig -Compression Brotli -CompressionLevel 4 -KeepLast 2 -KeepWeekly 4 -Exclusions 'tmp-*', 'scratch' -PassThru
        $c.Compression | Should -Be 'Brotli'
        $c.Retention.KeepWeekly | Should -Be 4
        $c.Exclusions | Should -Be @('tmp-*', 'scratch')
        Get-Content -LiteralPath $env:SNAPSHOTTOOLS_CONFIG -Raw | Should -Match 'future-key'
        Set-SnapshotToolsConfig -Compression Deflate -WhatIf
        (Get-SnapshotToolsConfig).Compression | Should -Be 'Brotli'
        { Set-SnapshotToolsConfig -KeepLast 0 -KeepWeekly 0 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidPolicy,SnapshotTools.Commands.SetSnapshotToolsConfigCommand'
        Set-SnapshotToolsConfig -ClearRetention -Exclusions @() -CompressionLevel -1
        $c = Get-SnapshotToolsConfig
        $c.Retention | Should -BeNullOrEmpty
        $c.Exclusions.Count | Should -Be 0
        $c.EffectiveCompressionLevel | Should -Be 1
    }

    It 'skips excluded volumes when volumes are chosen by wildcard' {
        $null = New-SnapshotVolume -Name tmp-1 -Size 1MB
        Set-SnapshotToolsConfig -Exclusions 'tmp-*'
        $made = New-VolumeSnapshot -Volume * -Name wild
        $made.VolumeName | Should -Not -Contain 'tmp-1'
        $made.VolumeName | Should -Contain 'big'
        # Named explicitly, an excluded volume is not skipped.
        (New-VolumeSnapshot -Volume tmp-1 -Name wild).VolumeName | Should -Be 'tmp-1'
        Set-SnapshotToolsConfig -Exclusions @()
    }
}
