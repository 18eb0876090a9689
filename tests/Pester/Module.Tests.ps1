#Requires -Version 7.4
# The module as PowerShell sees it: manifest, exports, help, formatting, dependency isolation.

BeforeAll {
    . $PSScriptRoot/Shared.ps1
    $script:Root = Initialize-SnapshotToolsTestEnvironment
    $script:ModulePath = Get-SnapshotToolsModulePath
}

AfterAll {
    Restore-SnapshotToolsTestEnvironment
}

Describe 'The SnapshotTools module' {
    It 'has a valid manifest that exports exactly its cmdlets' {
        $manifest = Test-ModuleManifest -Path $ModulePath -ErrorAction Stop
        $manifest.PowerShellVersion | Should -Be ([version]'7.4')
        $manifest.ExportedFunctions.Count | Should -Be 0
        $manifest.ExportedAliases.Count | Should -Be 0
        $exported = (Get-Command -Module SnapshotTools -CommandType Cmdlet).Name | Sort-Object
        $manifest.ExportedCmdlets.Keys | Sort-Object | Should -Be $exported
        $exported | Should -Contain 'Get-SnapshotDelta'
        $exported | Should -Contain 'Export-Backup'
    }

    It 'uses only approved verbs' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module SnapshotTools) {
            $approved | Should -Contain $command.Verb -Because "$($command.Name) must use an approved verb"
        }
    }

    It 'does not collide with Hyper-V, Storage or PowerCLI nouns' {
        $nouns = (Get-Command -Module SnapshotTools).Noun | Sort-Object -Unique
        foreach ($taken in 'VM', 'VMSnapshot', 'Snapshot', 'Volume', 'Disk', 'VirtualDisk', 'Partition') {
            $nouns | Should -Not -Contain $taken
        }
    }

    It 'has help with an example for every command' {
        foreach ($command in Get-Command -Module SnapshotTools) {
            $help = Get-Help $command.Name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because $command.Name
            $help.Synopsis | Should -Not -Match '^\s*\S+\s+\[' -Because "$($command.Name) should have written help, not the generated syntax"
            @($help.Examples.Example).Count | Should -BeGreaterThan 0 -Because "$($command.Name) needs an example"
        }
        Get-Help about_SnapshotTools | Out-String | Should -Match 'copy-on-write'
    }

    It 'declares output types that match what the commands write' {
        (Get-Command Get-SnapshotDelta).OutputType.Name | Should -Be 'SnapshotTools.SnapshotDelta'
        (Get-Command Export-Backup).OutputType.Name | Should -Be 'SnapshotTools.Backup'
    }

    It 'loads the engine and YamlDotNet in its own load context even when another YamlDotNet is already loaded' {
        # A fresh process: load a decoy assembly named YamlDotNet first, as another module would, then use the
        # configuration commands (which parse YAML with the module's own YamlDotNet).
        $work = Join-Path $Root 'clash'
        $null = New-Item -ItemType Directory -Path $work -Force
        $script = @'
param($ModulePath, $Work)
$ErrorActionPreference = 'Stop'
$decoy = Join-Path $Work 'YamlDotNet.dll'
# Compile an assembly named YamlDotNet, version 1.0 (Add-Type would give it a random name), and load it into the
# default load context first, as another module would.
Add-Type -TypeDefinition 'public static class SnapshotToolsRoslynWarmUp { }'
$tree = [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText('[assembly: System.Reflection.AssemblyVersion("1.0.0.0")] namespace YamlDotNet.Core { public class Decoy { } }')
$runtime = Split-Path ([object].Assembly.Location)
$refs = [Microsoft.CodeAnalysis.MetadataReference[]]@(
    [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile([object].Assembly.Location)
    [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile((Join-Path $runtime 'System.Runtime.dll'))
)
$options = [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary)
$compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create('YamlDotNet', [Microsoft.CodeAnalysis.SyntaxTree[]]@($tree), $refs, $options)
$file = [System.IO.File]::Create($decoy)
try { if (-not $compilation.Emit($file).Success) { throw 'could not compile the decoy' } } finally { $file.Dispose() }
Add-Type -Path $decoy
$env:SNAPSHOTTOOLS_CONFIG = Join-Path $Work 'config.yaml'
Import-Module $ModulePath
Set-SnapshotToolsConfig -KeepDaily 3 -Exclusions 'tmp-*'
$config = Get-SnapshotToolsConfig
$contexts = [System.Runtime.Loader.AssemblyLoadContext]::All | ForEach-Object { $_.Name }
$yaml = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'YamlDotNet' }
$ours = $yaml | Where-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name -eq 'DependencyLoadContext' }
[pscustomobject]@{
    KeepDaily = $config.Retention.KeepDaily
    Exclusions = $config.Exclusions -join ','
    HasOwnContext = $contexts -contains 'DependencyLoadContext'
    YamlDotNetCopies = @($yaml).Count
    OwnYamlDotNetVersion = $ours.GetName().Version.Major
} | ConvertTo-Json -Compress
'@
        $scriptFile = Join-Path $work 'clash.ps1'
        Set-Content -LiteralPath $scriptFile -Value $script
        $pwsh = Get-PwshPath
        $json = & $pwsh -NoProfile -NonInteractive -File $scriptFile -ModulePath $ModulePath -Work $work
        $LASTEXITCODE | Should -Be 0
        $result = $json | Select-Object -Last 1 | ConvertFrom-Json
        $result.KeepDaily | Should -Be 3
        $result.Exclusions | Should -Be 'tmp-*'
        $result.HasOwnContext | Should -BeTrue
        $result.YamlDotNetCopies | Should -Be 2
        $result.OwnYamlDotNetVersion | Should -BeGreaterThan 1
    }

    It 'formats sizes and times for people' {
        $null = New-SnapshotVolume -Name fmt -Size 10MB
        $table = Get-SnapshotVolume -Name fmt | Format-Table | Out-String
        $table | Should -Match '10\.0 MiB'
        $list = Get-SnapshotVolume -Name fmt | Format-List | Out-String
        $list | Should -Match 'VolumePath'
        $list | Should -Match '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'
        Remove-SnapshotVolume -Volume fmt -Force
    }
}
