# Shared setup of the Pester suite (dot-sourced by every *.Tests.ps1 in BeforeAll).
# Finds the built module: $env:SNAPSHOTTOOLS_MODULE, else the newer of ./module (build.sh / build.ps1) and the
# build output in src/SnapshotTools/bin/Release/net8.0/module (dotnet build / dotnet test).

function Get-SnapshotToolsModulePath {
    if ($env:SNAPSHOTTOOLS_MODULE) {
        return $env:SNAPSHOTTOOLS_MODULE
    }
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $candidates = @(
        Join-Path $root 'module/SnapshotTools.psd1'
        Join-Path $root 'src/SnapshotTools/bin/Release/net8.0/module/SnapshotTools.psd1'
    ) | Where-Object { Test-Path -LiteralPath $_ }
    if (-not $candidates) {
        throw "SnapshotTools is not built: run ./build.sh (or dotnet build -c Release) first."
    }
    $candidates |
        Sort-Object { (Get-Item -LiteralPath (Join-Path (Split-Path $_) 'SnapshotTools.dll')).LastWriteTimeUtc } -Descending |
        Select-Object -First 1
}

# Points the module at a private configuration file and store in a new temporary folder (returned), so tests never
# touch the user's. Not $TestDrive: Pester 5 empties it after every Describe block, and the volumes here live for the
# whole file.
function Initialize-SnapshotToolsTestEnvironment {
    $script:SavedConfig = $env:SNAPSHOTTOOLS_CONFIG
    $script:SavedStore = $env:SNAPSHOTTOOLS_STORE
    $Root = Join-Path ([System.IO.Path]::GetTempPath()) ('snapshottools-pester-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $Root -Force
    $script:TestRoot = $Root
    $env:SNAPSHOTTOOLS_CONFIG = Join-Path $Root 'config.yaml'
    $env:SNAPSHOTTOOLS_STORE = Join-Path $Root 'store'
    Import-Module (Get-SnapshotToolsModulePath) -Force -ErrorAction Stop
    $Root
}

function Restore-SnapshotToolsTestEnvironment {
    $env:SNAPSHOTTOOLS_CONFIG = $script:SavedConfig
    $env:SNAPSHOTTOOLS_STORE = $script:SavedStore
    if ($script:TestRoot -and (Test-Path -LiteralPath $script:TestRoot)) {
        Remove-Item -LiteralPath $script:TestRoot -Recurse -Force -ErrorAction SilentlyContinue
    }
}

# Returns the pwsh executable running this session (pwsh may be an apphost, a dotnet tool shim or pwsh.exe).
function Get-PwshPath {
    $onPath = Get-Command pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($onPath) { return $onPath.Source }
    foreach ($name in 'pwsh', 'pwsh.exe') {
        $candidate = Join-Path $PSHOME $name
        if (Test-Path -LiteralPath $candidate) { return $candidate }
    }
    throw 'Cannot find the pwsh executable.'
}

# Writes reproducible pseudo-random bytes.
function New-TestBytes {
    param([int] $Count, [int] $Seed = 1)
    $bytes = [byte[]]::new($Count)
    [System.Random]::new($Seed).NextBytes($bytes)
    , $bytes
}

# Returns the completions PowerShell offers at the end of $InputScript.
function Get-Completion {
    param([Parameter(Mandatory)] [string] $InputScript)
    (TabExpansion2 -inputScript $InputScript -cursorColumn $InputScript.Length).CompletionMatches |
        ForEach-Object CompletionText
}
