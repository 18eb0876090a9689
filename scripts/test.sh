#!/usr/bin/env bash
# Runs all the tests: the xunit suite, and the Pester suite when pwsh and Pester 5 are present.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
dotnet test tests/SnapshotTools.Engine.Tests -c Release -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+" "$log" | tail -1)
failed=$(sed -E 's/.*Failed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
rm -f "$log"
if [ -z "$summary" ]; then
  echo "xunit: no test summary found (exit $status)"; exit 1
fi
if command -v pwsh >/dev/null 2>&1 && [ -d tests/Pester ]; then
  pwsh -NoProfile -Command 'Import-Module Pester -MinimumVersion 5.0; $r = Invoke-Pester -Path tests/Pester -PassThru; if ($r.FailedCount -gt 0) { exit 1 }' || status=1
else
  echo "Pester suite skipped: pwsh with Pester 5 is not on this machine."
fi
echo "xunit: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
