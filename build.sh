#!/usr/bin/env bash
# Builds everything (engine, tests, examples, benchmarks) in Release.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build SnapshotTools.sln -c Release "$@"
