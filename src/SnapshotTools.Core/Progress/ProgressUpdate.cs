namespace SnapshotTools.Core;

/// <summary>One progress bar update, ready for a <c>ProgressRecord</c>.</summary>
/// <param name="Activity">The activity (never empty).</param>
/// <param name="StatusDescription">What is done so far, e.g. <c>1.20 GiB of 4.00 GiB, 350 MiB/s</c> (never empty).</param>
/// <param name="PercentComplete">0 to 100; always set.</param>
/// <param name="SecondsRemaining">The estimate, or -1 when unknown.</param>
/// <param name="Completed">Whether this is the final, Completed record.</param>
public readonly record struct ProgressUpdate(string Activity, string StatusDescription, int PercentComplete, int SecondsRemaining, bool Completed);

/// <summary>What an operation's progress counts.</summary>
public enum ProgressUnit
{
    /// <summary>Bytes: shown as sizes with a throughput.</summary>
    Bytes = 0,
    /// <summary>Items (chunks, records): shown as counts.</summary>
    Items = 1,
}
