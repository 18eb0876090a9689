using System.Globalization;
using SnapshotTools.Core;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public class ModuleProgressTests
{
    private static readonly long Ms = TimeSpan.TicksPerMillisecond;

    [Theory]
    [InlineData(0L, 100L, 0)]
    [InlineData(1L, 100L, 1)]
    [InlineData(99L, 100L, 99)]
    [InlineData(100L, 100L, 100)]
    [InlineData(150L, 100L, 100)]
    [InlineData(-5L, 100L, 0)]
    [InlineData(0L, 0L, 100)]
    [InlineData(5L, 0L, 0)]
    [InlineData(long.MaxValue / 2, long.MaxValue, 50)]
    public void Percent_is_clamped_and_overflow_free(long done, long total, int expected)
    {
        Assert.Equal(expected, ProgressThrottle.Percent(done, total));
    }

    [Fact]
    public void Updates_are_throttled_but_first_new_activity_and_end_pass()
    {
        var t = new ProgressThrottle(TimeSpan.FromMilliseconds(200), ProgressUnit.Bytes, CultureInfo.InvariantCulture);
        Assert.NotNull(t.Offer(new OperationProgress("Copy", 0, 1000), 0));
        Assert.Null(t.Offer(new OperationProgress("Copy", 10, 1000), 50 * Ms));
        Assert.Null(t.Offer(new OperationProgress("Copy", 20, 1000), 199 * Ms));
        ProgressUpdate? due = t.Offer(new OperationProgress("Copy", 500, 1000), 200 * Ms);
        Assert.Equal(50, due!.Value.PercentComplete);
        Assert.NotNull(t.Offer(new OperationProgress("Verify", 1, 1000), 210 * Ms));
        ProgressUpdate? end = t.Offer(new OperationProgress("Verify", 1000, 1000), 220 * Ms);
        Assert.Equal(100, end!.Value.PercentComplete);
        Assert.Null(t.Offer(new OperationProgress("Verify", 1000, 1000), 230 * Ms));
        ProgressUpdate done = t.Complete();
        Assert.True(done.Completed);
        Assert.Equal("Verify", done.Activity);
        Assert.Equal(100, done.PercentComplete);
    }

    [Fact]
    public void Status_shows_bytes_and_throughput_or_counts()
    {
        var bytes = new ProgressThrottle(TimeSpan.Zero, ProgressUnit.Bytes, CultureInfo.InvariantCulture);
        bytes.Offer(new OperationProgress("Copy", 0, 4L << 30), 0);
        ProgressUpdate u = bytes.Offer(new OperationProgress("Copy", 1L << 30, 4L << 30), 2 * TimeSpan.TicksPerSecond)!.Value;
        Assert.Equal("1.00 GiB of 4.00 GiB, 512 MiB/s", u.StatusDescription);
        Assert.Equal(25, u.PercentComplete);
        Assert.Equal(6, u.SecondsRemaining);

        var items = new ProgressThrottle(TimeSpan.Zero, ProgressUnit.Items, CultureInfo.InvariantCulture);
        Assert.Equal("3 of 1,000", items.Offer(new OperationProgress("Merge", 3, 1000), 0)!.Value.StatusDescription);
        Assert.Equal("Working", items.Offer(new OperationProgress("", 3, 1000), 0)!.Value.Activity);
    }

    [Fact]
    public void Remaining_is_unknown_until_there_is_enough_to_go_on()
    {
        Assert.Equal(-1, ProgressThrottle.Remaining(new OperationProgress("x", 50, 100), 0.5));
        Assert.Equal(-1, ProgressThrottle.Remaining(new OperationProgress("x", 0, 100), 10));
        Assert.Equal(-1, ProgressThrottle.Remaining(new OperationProgress("x", 5, 1000), 10));
        Assert.Equal(10, ProgressThrottle.Remaining(new OperationProgress("x", 50, 100), 10));
        Assert.Equal(0, ProgressThrottle.Remaining(new OperationProgress("x", 100, 100), 10));
    }

    [Fact]
    public void Pump_draws_on_the_calling_thread_and_ends_with_completed()
    {
        int caller = Environment.CurrentManagedThreadId;
        var updates = new List<ProgressUpdate>();
        var threads = new HashSet<int>();
        int result = OperationPump.Run((progress, token) =>
        {
            for (int i = 0; i <= 100; i++)
            {
                progress.Report(new OperationProgress("Work", i, 100));
                Thread.Sleep(2);
            }
            return Environment.CurrentManagedThreadId;
        }, u => { updates.Add(u); threads.Add(Environment.CurrentManagedThreadId); }, new ProgressThrottle(TimeSpan.FromMilliseconds(20)), CancellationToken.None, TimeSpan.FromMilliseconds(5));
        Assert.NotEqual(caller, result);
        Assert.Equal(new[] { caller }, threads);
        Assert.True(updates.Count >= 2 && updates.Count < 60, $"{updates.Count} updates");
        Assert.True(updates[^1].Completed);
        Assert.All(updates.Take(updates.Count - 1), u => Assert.False(u.Completed));
        Assert.All(updates, u => Assert.InRange(u.PercentComplete, 0, 100));
    }

    [Fact]
    public void Pump_rethrows_the_original_exception_after_completing_the_bar()
    {
        var updates = new List<ProgressUpdate>();
        var ex = Assert.Throws<SnapshotToolsException>(() => OperationPump.Run<int>((progress, token) =>
        {
            progress.Report(new OperationProgress("Work", 1, 10));
            Thread.Sleep(30);
            throw new SnapshotToolsException(SnapshotErrorCode.DiskFull, "full");
        }, updates.Add, new ProgressThrottle(), CancellationToken.None, TimeSpan.FromMilliseconds(5)));
        Assert.Equal(SnapshotErrorCode.DiskFull, ex.Code);
        Assert.True(updates[^1].Completed);
    }

    [Fact]
    public void Pump_waits_for_a_cancelled_operation_to_clean_up()
    {
        using var cts = new CancellationTokenSource();
        bool cleanedUp = false;
        cts.CancelAfter(50);
        Assert.ThrowsAny<OperationCanceledException>(() => OperationPump.Run<int>((progress, token) =>
        {
            try
            {
                while (true)
                {
                    token.ThrowIfCancellationRequested();
                    Thread.Sleep(5);
                }
            }
            finally
            {
                Thread.Sleep(50);
                cleanedUp = true;
            }
        }, _ => { }, new ProgressThrottle(), cts.Token));
        Assert.True(cleanedUp);
    }

    [Fact]
    public void Pump_stops_and_waits_for_the_operation_when_drawing_fails()
    {
        // PowerShell throws from WriteProgress once Ctrl+C stopped the pipeline: the half-written output must be gone
        // before the command returns.
        bool cleanedUp = false;
        var ex = Assert.Throws<InvalidOperationException>(() => OperationPump.Run<int>((progress, token) =>
        {
            try
            {
                while (true)
                {
                    progress.Report(new OperationProgress("Work", 1, 10));
                    token.ThrowIfCancellationRequested();
                    Thread.Sleep(5);
                }
            }
            finally
            {
                Thread.Sleep(100);
                cleanedUp = true;
            }
        }, _ => throw new InvalidOperationException("pipeline stopped"), new ProgressThrottle(), CancellationToken.None, TimeSpan.FromMilliseconds(5)));
        Assert.Equal("pipeline stopped", ex.Message);
        Assert.True(cleanedUp);
    }

    [Fact]
    public void Pump_without_reports_draws_nothing()
    {
        var updates = new List<ProgressUpdate>();
        Assert.Equal(7, OperationPump.Run((p, t) => 7, updates.Add, new ProgressThrottle(), CancellationToken.None));
        Assert.Empty(updates);
    }
}
