using System.Globalization;
using SnapshotTools.Core;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public class ModuleFormattingTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(512L, "512 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1024L, "1.00 KiB")]
    [InlineData(1536L, "1.50 KiB")]
    [InlineData(10L * 1024, "10.0 KiB")]
    [InlineData(100L * 1024, "100 KiB")]
    [InlineData(1023L * 1024, "1023 KiB")]
    [InlineData(1024L * 1024 - 1, "1.00 MiB")]
    [InlineData(64L * 1024, "64.0 KiB")]
    [InlineData(10L << 30, "10.0 GiB")]
    [InlineData(1L << 40, "1.00 TiB")]
    [InlineData(-2048L, "-2.00 KiB")]
    [InlineData(long.MaxValue, "8.00 EiB")]
    public void Sizes_use_binary_units_with_three_digits(long bytes, string expected)
    {
        Assert.Equal(expected, HumanSize.Format(bytes, Inv));
    }

    [Fact]
    public void Rates_have_a_per_second_unit()
    {
        Assert.Equal("350 MiB/s", HumanSize.FormatRate(350.0 * 1024 * 1024, Inv));
        Assert.Equal("12 B/s", HumanSize.FormatRate(12, Inv));
        Assert.Equal("? B/s", HumanSize.FormatRate(double.NaN, Inv));
    }

    [Fact]
    public void Sizes_follow_the_culture()
    {
        Assert.Equal("1,50 KiB", HumanSize.Format(1536, CultureInfo.GetCultureInfo("de-DE")));
    }

    [Fact]
    public void Ages_read_naturally()
    {
        var now = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal("just now", HumanTime.FormatAge(now.AddSeconds(-2), now));
        Assert.Equal("42 s ago", HumanTime.FormatAge(now.AddSeconds(-42), now));
        Assert.Equal("5 min ago", HumanTime.FormatAge(now.AddMinutes(-5), now));
        Assert.Equal("3 h ago", HumanTime.FormatAge(now.AddHours(-3), now));
        Assert.Equal("12 d ago", HumanTime.FormatAge(now.AddDays(-12), now));
        Assert.Equal("in the future", HumanTime.FormatAge(now.AddDays(1), now));
    }

    [Fact]
    public void Local_times_and_durations()
    {
        var instant = new DateTimeOffset(2026, 11, 22, 3, 4, 5, TimeSpan.Zero);
        Assert.Equal("2026-11-22 03:04:05", HumanTime.FormatLocal(instant, TimeZoneInfo.Utc));
        Assert.Equal("1:05", HumanTime.FormatDuration(TimeSpan.FromSeconds(65)));
        Assert.Equal("1:05:03", HumanTime.FormatDuration(new TimeSpan(1, 5, 3)));
        Assert.Equal("2.01:00:00", HumanTime.FormatDuration(new TimeSpan(2, 1, 0, 0)));
    }
}
