#!/usr/bin/env bash
# Installs what the Pester suite needs, from NuGet (the only registry besides Debian's and npm's reachable here):
# PowerShell 7.6.9 as a .NET global tool (runs on the .NET 10 runtime) and Pester 5.7.1 (whose NuGet package carries
# the module in tools/). Afterwards `pwsh` is on PATH and `Import-Module Pester` works, so scripts/test.sh runs the
# Pester suite (PWSH_BIN_DIR says where the pwsh link goes; default /usr/local/bin). Idempotent; prints a clear line and exits 0 when something cannot be had, so CI can go on without it.
set -uo pipefail
cd "$(dirname "$0")/.."
tools="${XDG_DATA_HOME:-$HOME/.local/share}/snapshottools-dev"
bin="${PWSH_BIN_DIR:-/usr/local/bin}"
if ! command -v pwsh >/dev/null 2>&1; then
  if dotnet tool install PowerShell --version 7.6.9 --tool-path "$tools/pwsh" >/dev/null 2>&1 || [ -x "$tools/pwsh/pwsh" ]; then
    mkdir -p "$bin" && ln -sf "$tools/pwsh/pwsh" "$bin/pwsh" 2>/dev/null || echo "install-pwsh: add $tools/pwsh to PATH"
  else
    echo "install-pwsh: could not install the PowerShell global tool; the Pester suite will be skipped."
    exit 0
  fi
fi
modules="${HOME}/.local/share/powershell/Modules/Pester/5.7.1"
if [ ! -f "$modules/Pester.psd1" ]; then
  scratch=$(mktemp -d)
  cat >"$scratch/dl.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[5.7.1]" /></ItemGroup>
</Project>
XML
  packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  if dotnet restore "$scratch/dl.csproj" >/dev/null 2>&1 && [ -f "$packages/pester/5.7.1/tools/Pester.psd1" ]; then
    mkdir -p "$modules"
    cp -R "$packages/pester/5.7.1/tools/." "$modules/"
  else
    echo "install-pwsh: could not fetch Pester 5.7.1; the Pester suite will be skipped."
  fi
  rm -rf "$scratch"
fi
echo "install-pwsh: $(command -v pwsh || echo "$bin/pwsh") with Pester $( [ -f "$modules/Pester.psd1" ] && echo 5.7.1 || echo missing)"
