using System.Diagnostics;
using System.Runtime.ExceptionServices;
using SnapshotTools.Engine;

namespace SnapshotTools.Core;

/// <summary>
/// Runs a long engine operation on a worker thread while the calling (pipeline) thread draws its progress. PowerShell
/// only accepts <c>WriteProgress</c> from the pipeline thread, and engines report from their own threads, so the reports
/// are kept as "latest value" and the calling thread turns them into throttled updates, ending with one Completed
/// update whatever the outcome. Cancellation is the operation's own: the pump waits for it to finish (the engine
/// removes half-written output and leaves volumes consistent before it returns). When drawing itself fails, the
/// operation is cancelled and waited for before that failure is rethrown.
/// </summary>
public static class OperationPump
{
    /// <summary>Runs <paramref name="work"/> and returns its result, or rethrows its exception unchanged.</summary>
    /// <param name="work">The operation; it receives the progress sink and <paramref name="cancellationToken"/>.</param>
    /// <param name="onUpdate">Called on the calling thread with each update (and with the final Completed one).</param>
    /// <param name="throttle">Decides which reports become updates.</param>
    /// <param name="cancellationToken">Passed to <paramref name="work"/>.</param>
    /// <param name="pollInterval">How often the calling thread looks for news; default 50 ms.</param>
    public static T Run<T>(Func<IProgress<OperationProgress>, CancellationToken, T> work, Action<ProgressUpdate> onUpdate, ProgressThrottle throttle, CancellationToken cancellationToken, TimeSpan? pollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(onUpdate);
        ArgumentNullException.ThrowIfNull(throttle);
        var sink = new LatestProgress();
        var clock = Stopwatch.StartNew();
        // The operation gets a token we can cancel too: when drawing fails (PowerShell throws from WriteProgress once
        // the pipeline is stopping), the operation is stopped and waited for, so it cleans up before we return.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        CancellationToken token = linked.Token;
        Task<T> task = Task.Factory.StartNew(() => work(sink, token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        int poll = (int)(pollInterval ?? TimeSpan.FromMilliseconds(50)).TotalMilliseconds;
        bool drew = false;
        Exception? drawFailure = null;
        try
        {
            while (!task.Wait(poll))
            {
                drew |= Draw(sink, throttle, clock, onUpdate);
            }
            drew |= Draw(sink, throttle, clock, onUpdate);
        }
        catch (AggregateException) when (task.IsCompleted)
        {
            // The operation failed; its exception is rethrown below, after the Completed record.
        }
        catch (Exception ex)
        {
            drawFailure = ex;
            linked.Cancel();
        }
        if (drawFailure != null)
        {
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // The operation's own failure (most likely its cancellation) matters less than why we stopped it.
            }
            ExceptionDispatchInfo.Capture(drawFailure).Throw();
        }
        if (drew)
        {
            onUpdate(throttle.Complete());
        }
        if (task.IsFaulted)
        {
            Exception inner = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerExceptions[0] : task.Exception;
            ExceptionDispatchInfo.Capture(inner).Throw();
        }
        if (task.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        return task.Result;
    }

    private static bool Draw(LatestProgress sink, ProgressThrottle throttle, Stopwatch clock, Action<ProgressUpdate> onUpdate)
    {
        bool drew = false;
        foreach (OperationProgress p in sink.Take())
        {
            ProgressUpdate? update = throttle.Offer(p, clock.Elapsed.Ticks);
            if (update != null)
            {
                onUpdate(update.Value);
                drew = true;
            }
        }
        return drew;
    }

    /// <summary>Keeps the newest report of each activity, in the order the activities started.</summary>
    private sealed class LatestProgress : IProgress<OperationProgress>
    {
        private readonly object _gate = new();
        private readonly List<OperationProgress> _pending = new();

        public void Report(OperationProgress value)
        {
            lock (_gate)
            {
                if (_pending.Count > 0 && string.Equals(_pending[^1].Activity, value.Activity, StringComparison.Ordinal))
                {
                    _pending[^1] = value;
                }
                else
                {
                    _pending.Add(value);
                }
            }
        }

        public List<OperationProgress> Take()
        {
            lock (_gate)
            {
                var taken = new List<OperationProgress>(_pending);
                _pending.Clear();
                return taken;
            }
        }
    }
}
