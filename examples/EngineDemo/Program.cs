// The main job until the module and the CLI exist: an end-to-end run of the engine on a store in a local folder.
// Creates a volume, writes, snapshots, writes again, computes the differential, rolls back, and says what it did.
using SnapshotTools.Engine;
using SnapshotTools.Engine.Repository;

string store = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "demo-store");
string volumePath = Path.Combine(store, "db01");
Directory.CreateDirectory(store);
if (Volume.Exists(volumePath))
{
    Volume.Delete(volumePath);
}

const int MiB = 1024 * 1024;
using var volume = Volume.Create(volumePath, new VolumeCreateOptions { Size = 64 * MiB });
Console.WriteLine($"Created volume '{volume.Name}' at {volume.Location}: {volume.Size / MiB} MiB, chunk {volume.ChunkSize / 1024} KiB, id {volume.VolumeId}, generation {volume.Generation}");

byte[] block = new byte[MiB];
new Random(1).NextBytes(block);
for (long offset = 0; offset < 8 * MiB; offset += MiB)
{
    volume.Write(offset, block);
}
Console.WriteLine("Wrote 8 MiB of data at offset 0");

SnapshotInfo nightly1 = volume.CreateSnapshot("nightly-1", "before the batch job");
Console.WriteLine($"Created snapshot '{nightly1.Name}' (sequence {nightly1.Sequence}) at {nightly1.CreatedUtc:u}");

byte[] change = new byte[4096];
Array.Fill(change, (byte)0xAB);
volume.Write(3 * MiB + 100, change);          // unaligned: touches one chunk
volume.Write(20 * MiB, block);                 // 1 MiB into space never written
volume.Discard(6 * MiB, 2 * MiB);              // trim the tail of the data
Console.WriteLine("Changed 4 KiB at 3 MiB + 100, wrote 1 MiB at 20 MiB, discarded 2 MiB at 6 MiB");

SnapshotInfo nightly2 = volume.CreateSnapshot("nightly-2");
Console.WriteLine($"Created snapshot '{nightly2.Name}' (sequence {nightly2.Sequence})");

VolumeDelta delta = volume.GetDelta("nightly-1", "nightly-2");
Console.WriteLine($"Differential nightly-1 -> nightly-2: {delta.ChangedChunks} changed chunk(s)");
foreach (DeltaExtent extent in delta)
{
    Console.WriteLine($"  {extent.Kind,-8} offset {extent.Offset,10}  length {extent.Length,9}");
}

RollbackResult rollback = volume.Rollback("nightly-1");
Console.WriteLine($"Rolled back to '{rollback.Snapshot.Name}': {rollback.ChunksRestored} chunk(s) restored");

byte[] buffer = new byte[MiB];
byte[] expected = new byte[MiB];
bool same = true;
for (long offset = 0; offset < volume.Size && same; offset += MiB)
{
    volume.Read(offset, buffer);
    volume.ReadSnapshot("nightly-1", offset, expected);
    same = buffer.AsSpan().SequenceEqual(expected);
}
byte[] s2 = new byte[4096];
volume.ReadSnapshot("nightly-2", 3 * MiB + 100, s2);
Console.WriteLine(same ? "Verified: the live volume reads exactly as nightly-1" : "MISMATCH: live volume differs from nightly-1");
bool kept = s2.AsSpan().SequenceEqual(change);
Console.WriteLine(kept ? "Verified: nightly-2 still holds the change made after nightly-1" : "MISMATCH: nightly-2 lost its data");

// Back up into a repository in the same store: a full backup of nightly-1, an incremental to nightly-2.
string repositoryPath = Path.Combine(store, "backups");
if (Directory.Exists(repositoryPath))
{
    Directory.Delete(repositoryPath, recursive: true);
}
using var repository = BackupRepository.Open(repositoryPath, create: true);
BackupInfo full = repository.Export(volume, null, "nightly-1");
BackupInfo incremental = repository.Export(volume, "nightly-1", "nightly-2");
Console.WriteLine($"Exported a full backup ({full.StreamBytes} bytes) and an incremental ({incremental.StreamBytes} bytes) to {repositoryPath}");
BackupVerifyResult verify = repository.Verify(incremental.BackupId, deep: true, volume);
Console.WriteLine(verify.IsValid ? "Verified the incremental's chain: every checksum and the content hash hold, and it matches the live snapshot" : "VERIFY FAILED: " + string.Join("; ", verify.Problems));

// Restore nightly-2 into a standby volume and compare it with the source snapshot.
string standbyPath = Path.Combine(store, "db01-standby");
if (Volume.Exists(standbyPath))
{
    Volume.Delete(standbyPath);
}
repository.RestoreToVolume(incremental.BackupId, standbyPath);
using var standby = Volume.Open(standbyPath);
bool restored = true;
for (long offset = 0; offset < standby.Size && restored; offset += MiB)
{
    standby.ReadSnapshot("nightly-2", offset, buffer);
    volume.ReadSnapshot("nightly-2", offset, expected);
    restored = buffer.AsSpan().SequenceEqual(expected);
}
Console.WriteLine(restored ? $"Restored nightly-2 into '{standby.Name}' (same volume id {standby.VolumeId}): identical to the source" : "MISMATCH: the restored volume differs");
return same && kept && verify.IsValid && restored ? 0 : 1;
