#!/usr/bin/env python3
"""Generates the module's MAML help (src/SnapshotTools/en-US/SnapshotTools.dll-Help.xml).

Parameter sets, types, positions and pipeline binding come from the built module (scripts/dump-commands.ps1, run with
pwsh); descriptions of commands and parameters from the XML doc comments of the cmdlet classes (SnapshotTools.xml);
synopses and examples from CONTENT below. Run after changing a cmdlet:

    pwsh -NoProfile -File scripts/dump-commands.ps1 src/SnapshotTools/bin/Release/net8.0/module/SnapshotTools.psd1 /tmp/commands.json
    python3 scripts/generate-help.py /tmp/commands.json src/SnapshotTools/bin/Release/net8.0/SnapshotTools.xml
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

CONTENT = {
    'New-SnapshotVolume': ('Creates volumes with copy-on-write snapshots in the volume store.', [
        ('New-SnapshotVolume -Name db01 -Size 10GB', 'Creates a 10 GiB volume named db01 in the configured store (a folder per volume).'),
        ('New-SnapshotVolume -Name ./lab/scratch -Size 1GB -ChunkSize 4096', 'Creates a volume in the folder ./lab/scratch with 4 KiB chunks, the finest change tracking.'),
    ]),
    'Get-SnapshotVolume': ('Gets the volumes of the store, by name (wildcards allowed), or by folder path.', [
        ('Get-SnapshotVolume', 'Lists every volume of the store with its size, snapshot count and newest snapshot.'),
        ('Get-SnapshotVolume -Name db* | Format-List', 'Shows every detail of the volumes whose names start with db.'),
    ]),
    'Resize-SnapshotVolume': ('Grows or shrinks volumes; every snapshot keeps its size and contents.', [
        ('Resize-SnapshotVolume -Volume db01 -Size 20GB -PassThru', 'Grows db01 to 20 GiB; the new space reads as zeros.'),
        ('Get-SnapshotVolume db01 | Resize-SnapshotVolume -Size 8GB -Force', 'Shrinks db01 without asking; snapshots still hold the bytes past the new end.'),
    ]),
    'Remove-SnapshotVolume': ('Deletes volumes with all their snapshots.', [
        ('Remove-SnapshotVolume -Volume scratch -WhatIf', 'Shows what would be removed without removing anything.'),
        ('Get-SnapshotVolume test-* | Remove-SnapshotVolume -Force', 'Removes every volume whose name starts with test- without asking.'),
    ]),
    'Import-SnapshotVolume': ('Creates volumes from raw image files or block devices; zero chunks stay sparse.', [
        ('Import-SnapshotVolume -Path ./images/db01.img', 'Creates volume db01 from the raw image db01.img.'),
        ('Get-ChildItem ./images/*.img | Import-SnapshotVolume', 'Imports every image of the folder, each into a volume named after the file.'),
    ]),
    'Export-SnapshotVolume': ('Writes a volume or one of its snapshots to a raw image file, sparse where unused.', [
        ('Export-SnapshotVolume -Volume db01 -Snapshot nightly-1 -Path ./db01-nightly-1.img', 'Writes the snapshot nightly-1 of db01 as a raw image, e.g. for qemu-img or a file system check.'),
        ('Get-VolumeSnapshot -Volume db01 -Name nightly-1 | Export-SnapshotVolume -Path ./n1.img -Force -PassThru', 'Exports the piped snapshot, replacing n1.img, and returns the file.'),
    ]),
    'Write-SnapshotVolume': ('Writes bytes from a file or a byte array into a live volume at an offset, through copy-on-write.', [
        ('Write-SnapshotVolume -Volume db01 -Path ./boot.bin -Offset 0', 'Writes the bytes of boot.bin at the start of db01; snapshots keep what they had.'),
        ('Write-SnapshotVolume -Volume db01 -Value ([byte[]](1..16)) -Offset 1MB', 'Writes 16 bytes at offset 1 MiB.'),
    ]),
    'New-VolumeSnapshot': ('Takes a snapshot of each volume given or piped.', [
        ('New-VolumeSnapshot -Volume db01 -Name nightly-1 -Description "before upgrade"', 'Takes snapshot nightly-1 of db01.'),
        ("Get-SnapshotVolume | New-VolumeSnapshot -Name (Get-Date -Format 'nightly-yyyyMMdd')", 'Snapshots every volume of the store with a dated name.'),
    ]),
    'Get-VolumeSnapshot': ('Gets snapshots by volume, name (wildcards allowed) and date, oldest first.', [
        ('Get-VolumeSnapshot -Volume db01', 'Lists the snapshots of db01.'),
        ('Get-VolumeSnapshot -Name nightly-* -After (Get-Date).AddDays(-7) -Newest 3', 'Lists, per volume, the newest three nightly snapshots of the past week.'),
    ]),
    'Rename-VolumeSnapshot': ('Renames a snapshot.', [
        ('Rename-VolumeSnapshot -Volume db01 -Name nightly-1 -NewName before-upgrade', 'Renames nightly-1 of db01.'),
        ('Get-VolumeSnapshot -Volume db01 -Name nightly-1 | Rename-VolumeSnapshot -NewName keep-me -PassThru', 'Renames the piped snapshot and returns it.'),
    ]),
    'Remove-VolumeSnapshot': ('Deletes snapshots (oldest, newest or in the middle); the others read exactly as before.', [
        ('Remove-VolumeSnapshot -Volume db01 -Name nightly-1 -Force', 'Removes nightly-1 of db01 without asking.'),
        ('Get-VolumeSnapshot -Volume db01 -Before (Get-Date).AddDays(-30) | Remove-VolumeSnapshot -WhatIf', 'Shows which snapshots older than 30 days would be removed.'),
    ]),
    'Restore-VolumeSnapshot': ('Rolls a live volume back to a snapshot from the preservation store.', [
        ('Restore-VolumeSnapshot -Volume db01 -Name nightly-1', 'Asks for confirmation, then rolls db01 back to nightly-1; newer snapshots keep their contents.'),
        ('Get-VolumeSnapshot -Volume db01 -Newest 1 | Restore-VolumeSnapshot -Force -PassThru', 'Rolls db01 back to its newest snapshot without asking, and returns the volume.'),
    ]),
    'Compare-VolumeSnapshot': ('Compares two snapshots, or a snapshot and the live volume, byte for byte.', [
        ('Compare-VolumeSnapshot -Volume db01 -ReferenceSnapshot nightly-1 -DifferenceSnapshot nightly-2', 'Reports how many bytes differ between the two snapshots and where.'),
        ('Compare-VolumeSnapshot db01 nightly-2 | Select-Object Identical, DifferentBytes', 'Tells whether the live volume still reads exactly as nightly-2.'),
    ]),
    'Get-SnapshotDelta': ('Gets the differential between two snapshots, or a snapshot and the live volume: extents and sizes.', [
        ('Get-SnapshotDelta -Volume db01 -From nightly-1 -To nightly-2 | Export-Backup -Repository /backups', 'Computes what changed between two snapshots and writes it as an incremental backup.'),
        ('Get-VolumeSnapshot -Volume db01 -Name nightly-1 | Get-SnapshotDelta -To nightly-2 -IncludeExtents | Select-Object -ExpandProperty Extents', 'Lists the changed extents (offset, length, kind) since the piped snapshot.'),
    ]),
    'Export-Backup': ('Writes a snapshot into a backup repository as a full or incremental backup.', [
        ('Get-SnapshotDelta -Volume db01 -From nightly-1 -To nightly-2 | Export-Backup -Repository /backups', 'Writes the delta from nightly-1 to nightly-2 as an incremental on top of the backup of nightly-1.'),
        ('Get-VolumeSnapshot -Volume db01 -Newest 1 | Export-Backup -Repository offsite -KeyPath ~/.snapshottools/key', 'The nightly case: backs up the newest snapshot, incremental from the newest snapshot already backed up (full when none is), encrypted.'),
    ]),
    'Import-Backup': ('Applies delta streams (files, or backups from a repository) to a volume.', [
        ('Get-Backup -Repository /backups -VolumeName db01 | Import-Backup -Volume db01-replica', 'Brings a replica up to date: the first run imports the full backup, later runs only what is new.'),
        ('Import-Backup -Volume db01-replica -Path ./streams/*.stdelta', 'Applies stream files in name order.'),
    ]),
    'Get-Backup': ('Gets backups from a repository catalog, or the chain that restores one.', [
        ('Get-Backup -Repository /backups -VolumeName db01', 'Lists the backups of db01, oldest point in time first.'),
        ('Get-Backup -Repository /backups -VolumeName db01 -PointInTime "2026-11-20 03:00"', 'Shows the backup a point-in-time restore to that moment would use.'),
    ]),
    'Test-Backup': ('Verifies backups without restoring them.', [
        ('Get-Backup -Repository /backups | Test-Backup', 'Verifies every backup of the repository: checksums, chains and totals.'),
        ('Export-Backup -Volume db01 -To nightly-2 -Repository /backups | Test-Backup -Deep', 'Backs up nightly-2 and verifies the new backup against the snapshot itself.'),
    ]),
    'Restore-Backup': ('Restores a point in time from a repository into a new volume or a raw image file.', [
        ('Restore-Backup -Repository /backups -VolumeName db01 -PointInTime "2026-11-20 03:00" -NewVolume db01-restored', 'Restores db01 as it was at the newest backup at or before that moment, into a new volume.'),
        ('Get-Backup -Repository /backups -VolumeName db01 -Latest | Restore-Backup -ImagePath ./db01.img', 'Restores the newest backup of db01 as a raw image.'),
    ]),
    'Merge-Backup': ('Merges the chain ending at an incremental backup into a synthetic full backup.', [
        ('Get-Backup -Repository /backups -VolumeName db01 -Latest | Merge-Backup', 'Makes a synthetic full backup of the newest point in time, so older links can be removed.'),
    ]),
    'Remove-Backup': ('Removes backups by id, or whatever a retention policy does not keep.', [
        ('Remove-Backup -Repository /backups -ApplyRetention -KeepDaily 7 -KeepWeekly 4 -WhatIf', 'Shows which backups the policy would remove, and why, without removing any.'),
        ('Get-Backup -Repository /backups -VolumeName scratch | Remove-Backup -WithDependents -Force', 'Removes every backup of the volume scratch without asking.'),
    ]),
    'Get-SnapshotToolsConfig': ('Gets the settings: default store and repository, compression, exclusions, retention.', [
        ('Get-SnapshotToolsConfig', 'Shows the settings, the file they come from, and the store and repository in effect.'),
    ]),
    'Set-SnapshotToolsConfig': ('Changes settings in the YAML settings file.', [
        ("Set-SnapshotToolsConfig -Store /srv/volumes -Repository offsite -Repositories @{ offsite = '/mnt/offsite/backups' }", 'Sets the store and a named default repository.'),
        ('Set-SnapshotToolsConfig -KeepDaily 7 -KeepWeekly 4 -Exclusions scratch-* -PassThru', 'Sets the default retention policy and skips scratch volumes in wildcard runs.'),
    ]),
}

NS = {
    'maml': 'http://schemas.microsoft.com/maml/2004/10',
    'command': 'http://schemas.microsoft.com/maml/dev/command/2004/10',
    'dev': 'http://schemas.microsoft.com/maml/dev/2004/10',
}


def docs(xml_path):
    tree = ET.parse(xml_path)
    result = {}
    for member in tree.getroot().iter('member'):
        summary = member.find('summary')
        if summary is None:
            continue
        text = ''.join(summary.itertext())
        # <c>x</c> and <see cref="T:A.B"/> become plain text.
        text = re.sub(r'\s+', ' ', text).strip()
        # Doc comments are written for C# readers ("Gets or sets the size ...", "Get-Backup: lists ..."); help reads
        # better without those openings.
        text = re.sub(r'^Gets or sets ', '', text)
        text = re.sub(r'^[A-Z][a-z]+-[A-Za-z]+: ', '', text)
        result[member.get('name')] = text[:1].upper() + text[1:]
    return result


def para(text):
    return f'<maml:para>{escape(text)}</maml:para>'


def main(commands_json, xml_docs, out_path):
    commands = json.load(open(commands_json, encoding='utf-8-sig'))
    doc = docs(xml_docs)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<!-- Generated by scripts/generate-help.py from the built module, its XML doc comments and the examples in the script. -->',
           '<helpItems schema="maml" xmlns="http://msh">']
    for c in commands:
        name = c['Name']
        synopsis, examples = CONTENT[name]
        type_name = c['ImplementingType']
        description = doc.get('T:' + type_name, synopsis)
        out.append('  <command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">')
        out.append('    <command:details>')
        out.append(f'      <command:name>{name}</command:name>')
        out.append(f'      <command:verb>{c["Verb"]}</command:verb>')
        out.append(f'      <command:noun>{c["Noun"]}</command:noun>')
        out.append(f'      <maml:description>{para(synopsis)}</maml:description>')
        out.append('    </command:details>')
        out.append(f'    <maml:description>{para(description)}</maml:description>')
        out.append('    <command:syntax>')
        params = {}
        for s in c['ParameterSets']:
            out.append('      <command:syntaxItem>')
            out.append(f'        <maml:name>{name}</maml:name>')
            for p in s['Parameters']:
                params.setdefault(p['Name'], p)
                pos = 'named' if p['Position'] < 0 else str(p['Position'] + 1)
                out.append(f'        <command:parameter required="{str(p["Mandatory"]).lower()}" position="{pos}" pipelineInput="{pipeline(p)}" globbing="{str(p["Wildcards"]).lower()}">')
                out.append(f'          <maml:name>{p["Name"]}</maml:name>')
                if not p['IsSwitch']:
                    out.append(f'          <command:parameterValue required="true">{escape(p["Type"])}</command:parameterValue>')
                out.append('        </command:parameter>')
            out.append('      </command:syntaxItem>')
        out.append('    </command:syntax>')
        out.append('    <command:parameters>')
        for pname in sorted(params):
            p = params[pname]
            text = doc.get(f'P:{type_name}.{pname}', pname)
            pos = 'named' if p['Position'] < 0 else str(p['Position'] + 1)
            aliases = ', '.join(p['Aliases']) or 'none'
            out.append(f'      <command:parameter required="{str(p["Mandatory"]).lower()}" position="{pos}" pipelineInput="{pipeline(p)}" globbing="{str(p["Wildcards"]).lower()}" aliases="{escape(aliases)}">')
            out.append(f'        <maml:name>{pname}</maml:name>')
            out.append(f'        <maml:description>{para(text)}</maml:description>')
            out.append(f'        <command:parameterValue required="{str(not p["IsSwitch"]).lower()}">{escape(p["Type"])}</command:parameterValue>')
            out.append(f'        <dev:type><maml:name>{escape(p["Type"])}</maml:name></dev:type>')
            out.append('      </command:parameter>')
        out.append('    </command:parameters>')
        out.append('    <command:returnValues>')
        for t in c['OutputTypes']:
            out.append(f'      <command:returnValue><dev:type><maml:name>{escape(t)}</maml:name></dev:type></command:returnValue>')
        out.append('    </command:returnValues>')
        out.append('    <command:examples>')
        for i, (code, remarks) in enumerate(examples, 1):
            out.append('      <command:example>')
            out.append(f'        <maml:title>-------------------------- Example {i} --------------------------</maml:title>')
            out.append(f'        <dev:code>{escape(code)}</dev:code>')
            out.append(f'        <dev:remarks>{para(remarks)}</dev:remarks>')
            out.append('      </command:example>')
        out.append('    </command:examples>')
        out.append('    <command:relatedLinks>')
        out.append('      <maml:navigationLink><maml:linkText>about_SnapshotTools</maml:linkText></maml:navigationLink>')
        out.append('    </command:relatedLinks>')
        out.append('  </command:command>')
    out.append('</helpItems>')
    with open(out_path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(out) + '\n')
    missing = set(CONTENT) - {c['Name'] for c in commands}
    if missing:
        sys.exit(f'content for commands the module lacks: {sorted(missing)}')


def pipeline(p):
    kinds = []
    if p['ByValue']:
        kinds.append('ByValue')
    if p['ByPropertyName']:
        kinds.append('ByPropertyName')
    return 'true (' + ', '.join(kinds) + ')' if kinds else 'false'


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else 'src/SnapshotTools/en-US/SnapshotTools.dll-Help.xml')
