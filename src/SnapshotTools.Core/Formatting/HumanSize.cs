using System.Globalization;

namespace SnapshotTools.Core;

/// <summary>Sizes and rates for people: binary units with three significant digits (<c>1.50 GiB</c>, <c>12.3 MiB</c>, <c>512 B</c>).</summary>
public static class HumanSize
{
    private static readonly string[] s_units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    /// <summary>Formats a byte count, e.g. <c>1.50 GiB</c>; negative counts keep their sign.</summary>
    public static string Format(long bytes, CultureInfo? culture = null)
    {
        culture ??= CultureInfo.CurrentCulture;
        if (bytes < 0)
        {
            return "-" + Format(bytes == long.MinValue ? long.MaxValue : -bytes, culture);
        }
        if (bytes < 1024)
        {
            return bytes.ToString(culture) + " B";
        }
        return Scaled(bytes, culture);
    }

    /// <summary>Formats a throughput in bytes per second, e.g. <c>350 MiB/s</c>.</summary>
    public static string FormatRate(double bytesPerSecond, CultureInfo? culture = null)
    {
        culture ??= CultureInfo.CurrentCulture;
        if (double.IsNaN(bytesPerSecond) || double.IsInfinity(bytesPerSecond) || bytesPerSecond < 0)
        {
            return "? B/s";
        }
        if (bytesPerSecond < 1024)
        {
            return Math.Round(bytesPerSecond).ToString("0", culture) + " B/s";
        }
        return Scaled(bytesPerSecond, culture) + "/s";
    }

    private static string Scaled(double value, CultureInfo culture)
    {
        int unit = 0;
        while (value >= 1024 && unit < s_units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        // Three significant digits; a value that rounds up to 1024 moves to the next unit.
        string digits = value >= 100 ? "0" : value >= 10 ? "0.0" : "0.00";
        double rounded = Math.Round(value, value >= 100 ? 0 : value >= 10 ? 1 : 2);
        if (rounded >= 1024 && unit < s_units.Length - 1)
        {
            rounded /= 1024;
            unit++;
            digits = "0.00";
        }
        return rounded.ToString(digits, culture) + " " + s_units[unit];
    }
}
