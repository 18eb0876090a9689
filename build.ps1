#!/usr/bin/env pwsh
# Builds everything (engine, module, tests, examples, benchmarks) and lays out the importable PowerShell module in
# ./module (psd1, SnapshotTools.dll, format file, help; the engine and YamlDotNet under dependencies/):
#   Import-Module ./module/SnapshotTools.psd1
param([string] $Configuration = 'Release')
$ErrorActionPreference = 'Stop'
Push-Location $PSScriptRoot
try {
    dotnet build SnapshotTools.sln -c $Configuration
    if ($LASTEXITCODE -ne 0) { throw "dotnet build failed with exit code $LASTEXITCODE" }
    $layout = Join-Path $PSScriptRoot "src/SnapshotTools/bin/$Configuration/net8.0/module"
    $module = Join-Path $PSScriptRoot 'module'
    if (Test-Path -LiteralPath $module) { Remove-Item -LiteralPath $module -Recurse -Force }
    Copy-Item -LiteralPath $layout -Destination $module -Recurse
    Write-Host "Module laid out in $module"
}
finally {
    Pop-Location
}
