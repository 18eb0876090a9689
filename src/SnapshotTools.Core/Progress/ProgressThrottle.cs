using System.Globalization;
using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Decides when a progress bar is redrawn and with what: at most one update per <see cref="Interval"/> (the first
/// report, a new activity and the end always pass), with the percentage always set, sizes and throughput for byte
/// counts, and an estimate of the time left once there is enough to go on. Hosts redraw slowly, so engines that report
/// per record must not reach <c>WriteProgress</c> each time.
/// </summary>
public sealed class ProgressThrottle
{
    private readonly ProgressUnit _unit;
    private readonly CultureInfo _culture;
    private string? _activity;
    private long _activityStartTicks;
    private long _lastEmitTicks = long.MinValue;
    private int _lastPercent = -1;

    /// <summary>Initializes a throttle.</summary>
    /// <param name="interval">The least time between two updates; default 200 ms.</param>
    /// <param name="unit">What the counts count.</param>
    /// <param name="culture">The culture of the numbers; default the current culture.</param>
    public ProgressThrottle(TimeSpan? interval = null, ProgressUnit unit = ProgressUnit.Bytes, CultureInfo? culture = null)
    {
        Interval = interval ?? TimeSpan.FromMilliseconds(200);
        _unit = unit;
        _culture = culture ?? CultureInfo.CurrentCulture;
    }

    /// <summary>Gets the least time between two updates.</summary>
    public TimeSpan Interval { get; }

    /// <summary>
    /// Offers a report at time <paramref name="nowTicks"/> (<see cref="TimeSpan"/> ticks from any fixed origin); returns the
    /// update to draw, or null when it is too soon or nothing visible changed.
    /// </summary>
    public ProgressUpdate? Offer(OperationProgress progress, long nowTicks)
    {
        string activity = string.IsNullOrWhiteSpace(progress.Activity) ? "Working" : progress.Activity;
        bool newActivity = !string.Equals(activity, _activity, StringComparison.Ordinal);
        if (newActivity)
        {
            _activity = activity;
            _activityStartTicks = nowTicks;
            _lastPercent = -1;
        }
        int percent = Percent(progress.Done, progress.Total);
        bool finished = progress.Total > 0 && progress.Done >= progress.Total;
        bool first = _lastEmitTicks == long.MinValue;
        bool due = !first && nowTicks - _lastEmitTicks >= Interval.Ticks;
        bool reachedEnd = finished && _lastPercent != 100;
        if (!first && !newActivity && !reachedEnd && !due)
        {
            return null;
        }
        _lastEmitTicks = nowTicks;
        _lastPercent = percent;
        double seconds = (nowTicks - _activityStartTicks) / (double)TimeSpan.TicksPerSecond;
        return new ProgressUpdate(activity, Status(progress, seconds), percent, Remaining(progress, seconds), Completed: false);
    }

    /// <summary>Returns the final, Completed update of the last activity.</summary>
    public ProgressUpdate Complete() => new(_activity ?? "Working", "Done", 100, 0, Completed: true);

    /// <summary>Returns the percentage of <paramref name="done"/> in <paramref name="total"/>, clamped to 0..100 (100 when the total is unknown or 0).</summary>
    public static int Percent(long done, long total)
    {
        if (total <= 0)
        {
            return done > 0 ? 0 : 100;
        }
        if (done <= 0)
        {
            return 0;
        }
        if (done >= total)
        {
            return 100;
        }
        return (int)Math.Clamp((double)done * 100 / total, 0, 100);
    }

    /// <summary>Estimates the seconds left from the rate so far; -1 until a second of work or 1 % is done.</summary>
    public static int Remaining(OperationProgress progress, double elapsedSeconds)
    {
        if (progress.Total <= 0 || progress.Done <= 0 || elapsedSeconds < 1 || progress.Done * 100 < progress.Total)
        {
            return -1;
        }
        if (progress.Done >= progress.Total)
        {
            return 0;
        }
        double rate = progress.Done / elapsedSeconds;
        double left = (progress.Total - progress.Done) / rate;
        return left > int.MaxValue ? -1 : (int)Math.Ceiling(left);
    }

    private string Status(OperationProgress progress, double seconds)
    {
        if (_unit == ProgressUnit.Items)
        {
            return progress.Total > 0
                ? string.Format(_culture, "{0:N0} of {1:N0}", progress.Done, progress.Total)
                : string.Format(_culture, "{0:N0}", progress.Done);
        }
        string done = HumanSize.Format(progress.Done, _culture);
        string text = progress.Total > 0 ? $"{done} of {HumanSize.Format(progress.Total, _culture)}" : done;
        if (seconds >= 0.5 && progress.Done > 0)
        {
            text += ", " + HumanSize.FormatRate(progress.Done / seconds, _culture);
        }
        return text;
    }
}
