#!/usr/bin/env bash
# Sets up, builds and runs the main job: an end-to-end example on an embedded store in ./demo-store.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build examples/EngineDemo -c Release -v quiet -nologo
dotnet run --project examples/EngineDemo -c Release --no-build -- "${1:-./demo-store}"
