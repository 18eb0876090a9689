#!/usr/bin/env bash
# Builds everything (engine, module, tests, examples, benchmarks) in Release and lays out the importable PowerShell
# module in ./module (psd1, SnapshotTools.dll, format file, help; the engine and YamlDotNet under dependencies/):
#   pwsh -c 'Import-Module ./module/SnapshotTools.psd1'
set -euo pipefail
cd "$(dirname "$0")"
dotnet build SnapshotTools.sln -c Release "$@"
rm -rf module
cp -R src/SnapshotTools/bin/Release/net8.0/module module
echo "Module laid out in $(pwd)/module"
