using SnapshotTools.Core;

namespace SnapshotTools.Commands;

/// <summary>
/// Formatting helpers for the views in SnapshotTools.Format.ps1xml (<c>[SnapshotTools.Commands.Format]::Size($_.Size)</c>).
/// They live in the cmdlet assembly, which PowerShell's type resolution sees, and delegate to SnapshotTools.Core.
/// </summary>
public static class Format
{
    /// <summary>Formats a byte count, e.g. <c>1.50 GiB</c>.</summary>
    public static string Size(long bytes) => HumanSize.Format(bytes);

    /// <summary>Formats an instant as local <c>yyyy-MM-dd HH:mm:ss</c>; empty for null.</summary>
    public static string Time(DateTimeOffset? instant) => instant is DateTimeOffset t ? HumanTime.FormatLocal(t) : "";

    /// <summary>Formats how long ago an instant was, e.g. <c>5 min ago</c>; empty for null.</summary>
    public static string Age(DateTimeOffset? instant) => instant is DateTimeOffset t ? HumanTime.FormatAge(t, DateTimeOffset.UtcNow) : "";
}
