#!/usr/bin/env bash
# Runs all the tests: builds, installs PowerShell 7 and Pester 5 from NuGet if missing, then the xunit suite and
# the Pester suite (skipped, and said so, only if PowerShell could not be installed).
set -uo pipefail
cd "$(dirname "$0")/.."
# Build everything (and lay out ./module for Pester), and get PowerShell 7 + Pester 5 from NuGet when missing.
if ! ./build.sh -v quiet -nologo >/tmp/snapshottools-build.log 2>&1; then
  cat /tmp/snapshottools-build.log; echo "build failed"; exit 1
fi
bash scripts/install-pwsh.sh
log=$(mktemp)
dotnet test tests/SnapshotTools.Engine.Tests -c Release -nologo --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+" "$log" | tail -1)
failed=$(sed -E 's/.*Failed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
rm -f "$log"
if [ -z "$summary" ]; then
  echo "xunit: no test summary found (exit $status)"; exit 1
fi
ppassed=0; pfailed=0; pskipped=0
if command -v pwsh >/dev/null 2>&1 && [ -d tests/Pester ]; then
  if [ ! -f module/SnapshotTools.psd1 ]; then
    echo "Pester suite needs the built module: run ./build.sh first."; exit 1
  fi
  plog=$(mktemp)
  pwsh -NoProfile -Command 'Import-Module Pester -MinimumVersion 5.0; $r = Invoke-Pester -Path tests/Pester -PassThru; "pester-counts {0} {1} {2}" -f $r.PassedCount, $r.FailedCount, $r.SkippedCount; if ($r.FailedCount -gt 0) { exit 1 }' 2>&1 | tee "$plog"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  read -r _ ppassed pfailed pskipped < <(grep -E "^pester-counts " "$plog" | tail -1) || { echo "Pester: no result"; status=1; }
  rm -f "$plog"
  echo "pester: ${ppassed:-0} passed, ${pfailed:-0} failed, ${pskipped:-0} skipped"
else
  echo "Pester suite skipped: pwsh with Pester 5 is not on this machine (bash scripts/install-pwsh.sh installs both)."
fi
echo "xunit: ${passed} passed, ${failed} failed, ${skipped} skipped"
echo "all: $((passed + ${ppassed:-0})) passed, $((failed + ${pfailed:-0})) failed, $((skipped + ${pskipped:-0})) skipped"
exit "$status"
