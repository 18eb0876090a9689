using System.Globalization;

namespace SnapshotTools.Core;

/// <summary>Times for people: local date and time, ages (<c>5 min ago</c>) and durations (<c>1:05:03</c>).</summary>
public static class HumanTime
{
    /// <summary>Formats an instant in the local time zone as <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public static string FormatLocal(DateTimeOffset instant, TimeZoneInfo? zone = null)
    {
        DateTimeOffset local = TimeZoneInfo.ConvertTime(instant, zone ?? TimeZoneInfo.Local);
        return local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Formats how long before <paramref name="now"/> an instant was: <c>just now</c>, <c>42 s ago</c>, <c>5 min ago</c>, <c>3 h ago</c>, <c>12 d ago</c>.</summary>
    public static string FormatAge(DateTimeOffset instant, DateTimeOffset now)
    {
        TimeSpan age = now - instant;
        if (age < TimeSpan.Zero)
        {
            return "in the future";
        }
        if (age < TimeSpan.FromSeconds(5))
        {
            return "just now";
        }
        if (age < TimeSpan.FromMinutes(1))
        {
            return $"{(int)age.TotalSeconds} s ago";
        }
        if (age < TimeSpan.FromHours(1))
        {
            return $"{(int)age.TotalMinutes} min ago";
        }
        if (age < TimeSpan.FromDays(2))
        {
            return $"{(int)age.TotalHours} h ago";
        }
        return $"{(int)age.TotalDays} d ago";
    }

    /// <summary>Formats a duration as <c>m:ss</c>, <c>h:mm:ss</c> or <c>d.hh:mm:ss</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            duration = duration.Negate();
        }
        if (duration.TotalDays >= 1)
        {
            return duration.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture);
        }
        if (duration.TotalHours >= 1)
        {
            return duration.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture);
        }
        return duration.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }
}
