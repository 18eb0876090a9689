using System.Runtime.CompilerServices;
using SnapshotTools.Engine;

namespace SnapshotTools.Engine.Tests;

/// <summary>Process-wide switches for the whole test run.</summary>
internal static class TestSetup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        // Every drained copy-on-write image is overwritten when it goes back to the pool: a use after return (a
        // reader or writer still holding it) then reads as 0xDB bytes and fails the model comparison.
        Volume.PoisonPooledImages = true;
    }
}
