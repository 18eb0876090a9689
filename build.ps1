#!/usr/bin/env pwsh
# Builds everything (engine, tests, examples, benchmarks) in Release.
param([string] $Configuration = 'Release')
$ErrorActionPreference = 'Stop'
Push-Location $PSScriptRoot
try {
    dotnet build SnapshotTools.sln -c $Configuration
    if ($LASTEXITCODE -ne 0) { throw "dotnet build failed with exit code $LASTEXITCODE" }
}
finally {
    Pop-Location
}
