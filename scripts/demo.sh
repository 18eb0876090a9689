#!/usr/bin/env bash
# Sets up, builds and runs the main job on an embedded store in a local folder (default ./demo-store):
#  1. the end-to-end example over the engine (examples/EngineDemo);
#  2. the same workflow through the PowerShell module (examples/demo.ps1), after installing PowerShell 7 from NuGet
#     if it is missing (skipped, and said so, only if that is impossible).
set -euo pipefail
cd "$(dirname "$0")/.."
store="${1:-./demo-store}"
./build.sh -v quiet -nologo >/tmp/snapshottools-demo-build.log 2>&1 || { cat /tmp/snapshottools-demo-build.log; exit 1; }
echo "== Engine example"
dotnet run --project examples/EngineDemo -c Release --no-build -- "$store"
bash scripts/install-pwsh.sh >/dev/null
if command -v pwsh >/dev/null 2>&1; then
  echo "== PowerShell module example"
  pwsh -NoProfile -File examples/demo.ps1 -Store "$store/ps"
else
  echo "PowerShell example skipped: pwsh could not be installed (scripts/install-pwsh.sh)."
fi
