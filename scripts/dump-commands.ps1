#!/usr/bin/env pwsh
# Writes the module's command metadata (parameter sets, parameters, output types) as JSON, for generate-help.py.
# Usage: pwsh -NoProfile -File scripts/dump-commands.ps1 <module.psd1> <out.json>
param([Parameter(Mandatory)] [string] $ModulePath, [Parameter(Mandatory)] [string] $OutFile)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
$commands = foreach ($c in Get-Command -Module SnapshotTools -CommandType Cmdlet | Sort-Object Name) {
    [ordered]@{
        Name          = $c.Name
        Verb          = $c.Verb
        Noun          = $c.Noun
        ImplementingType = $c.ImplementingType.FullName
        OutputTypes   = @($c.OutputType | ForEach-Object { $_.Name })
        ParameterSets = @(foreach ($set in $c.ParameterSets) {
            [ordered]@{
                Name       = $set.Name
                IsDefault  = $set.IsDefault
                Parameters = @(foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $common }) {
                    [ordered]@{
                        Name        = $p.Name
                        Type        = $(if ([Nullable]::GetUnderlyingType($p.ParameterType)) { [Nullable]::GetUnderlyingType($p.ParameterType).Name } else { $p.ParameterType.Name })
                        IsSwitch    = $p.ParameterType -eq [switch]
                        Mandatory   = $p.IsMandatory
                        Position    = $p.Position
                        ByValue     = $p.ValueFromPipeline
                        ByPropertyName = $p.ValueFromPipelineByPropertyName
                        Aliases     = @($p.Aliases)
                        Wildcards   = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
                    }
                })
            }
        })
    }
}
$commands | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $OutFile -Encoding utf8
