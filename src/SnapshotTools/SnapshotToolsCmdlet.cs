using System.Management.Automation;
using SnapshotTools.Core;
using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Commands;

/// <summary>
/// What every SnapshotTools cmdlet shares: the configuration, the volume store, PowerShell path resolution, one reused
/// progress record fed through <see cref="OperationPump"/>, cancellation on Ctrl+C, and error records built from
/// <see cref="ErrorMapping"/>. The decisions themselves are in SnapshotTools.Core.
/// </summary>
public abstract class SnapshotToolsCmdlet : PSCmdlet, IDisposable
{
    private static int s_nextActivityId = 0x5A70;
    private readonly CancellationTokenSource _cancel = new();
    private readonly int _activityId = Interlocked.Increment(ref s_nextActivityId);
    private ProgressRecord? _progress;
    private SnapshotToolsConfig? _config;

    /// <summary>Gets the token that Ctrl+C (StopProcessing) cancels.</summary>
    protected CancellationToken CancellationToken => _cancel.Token;

    /// <summary>Gets the configuration (read once per command); an invalid file terminates the command.</summary>
    protected SnapshotToolsConfig Config
    {
        get
        {
            if (_config == null)
            {
                try
                {
                    _config = ConfigFile.Load(ModuleEnvironment.Current.DefaultConfigPath);
                }
                catch (Exception ex) when (ex is SnapshotToolsException or IOException or UnauthorizedAccessException)
                {
                    ThrowSetupError(ex, ModuleEnvironment.Current.DefaultConfigPath);
                }
            }
            return _config!;
        }
    }

    /// <summary>Cancels the running operation; the engine removes half-written output before the command returns.</summary>
    protected override void StopProcessing() => _cancel.Cancel();

    /// <summary>Disposes the cancellation source.</summary>
    public void Dispose()
    {
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Resolves a user-typed path against <c>$PWD</c> and PowerShell's providers, without requiring it to exist.</summary>
    protected string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>Returns the volume store: <paramref name="storeRoot"/> when given, else the environment, the configuration or the default.</summary>
    protected VolumeStore GetStore(string? storeRoot) =>
        new(ModuleEnvironment.Current.ResolveStore(string.IsNullOrEmpty(storeRoot) ? null : ResolvePath(storeRoot), Config), ResolvePath);

    /// <summary>Resolves a <c>-Repository</c> value (a configured name or a path; the configured default when empty).</summary>
    protected string GetRepository(string? repository) => RepositoryResolver.Resolve(repository, Config, ResolvePath);

    /// <summary>Reads an encryption key file, or returns null when none is given.</summary>
    protected byte[]? ReadKey(string? keyPath) => string.IsNullOrEmpty(keyPath) ? null : StreamKey.FromFile(ResolvePath(keyPath));

    /// <summary>
    /// Runs a long operation on a worker thread while this (the pipeline) thread draws its progress, and returns its
    /// result. When the user pressed Ctrl+C, the operation's cancellation surfaces as a stopped pipeline.
    /// </summary>
    protected T RunWithProgress<T>(ProgressUnit unit, Func<IProgress<OperationProgress>, CancellationToken, T> work)
    {
        var throttle = new ProgressThrottle(unit: unit);
        try
        {
            return OperationPump.Run(work, WriteProgressUpdate, throttle, CancellationToken);
        }
        catch (Exception) when (Stopping || CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Asks whether to change <paramref name="target"/>: <c>-WhatIf</c> reports and declines, <c>-Confirm</c> asks, and
    /// <paramref name="force"/> skips the prompt a high-impact command would otherwise show.
    /// </summary>
    protected bool ShouldChange(string target, string action, bool force = false)
    {
        if (ConfirmationRules.SkipPrompt(force, IsSwitchBound("Confirm"), IsWhatIf()))
        {
            WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\" (-Force).");
            return true;
        }
        return ShouldProcess(target, action);
    }

    /// <summary>Asks the extra "this cannot be undone" question for steps that destroy data nothing else keeps, unless <paramref name="force"/>.</summary>
    protected bool ShouldDestroy(string query, string caption, bool force, ref bool yesToAll, ref bool noToAll)
    {
        if (!ConfirmationRules.NeedsContinue(force, destructive: true, IsWhatIf()))
        {
            return true;
        }
        return ShouldContinue(query, caption, ref yesToAll, ref noToAll);
    }

    /// <summary>Writes a non-terminating error for one failing pipeline item, with the item as the target.</summary>
    protected void WriteItemError(Exception exception, object? target)
    {
        if (exception is PipelineStoppedException)
        {
            throw exception;
        }
        WriteError(ToErrorRecord(exception, target));
    }

    /// <summary>Stops the command with a terminating error (setup failures: bad configuration, bad parameters).</summary>
    protected void ThrowSetupError(Exception exception, object? target) => ThrowTerminatingError(ToErrorRecord(exception, target));

    /// <summary>Builds the error record for an exception: stable id and category from <see cref="ErrorMapping"/>.</summary>
    protected static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        ModuleError e = ErrorMapping.Describe(exception);
        return new ErrorRecord(e.Exception, e.ErrorId, (ErrorCategory)(int)e.Category, target);
    }

    /// <summary>Returns whether a switch parameter was given and set.</summary>
    protected bool IsSwitchBound(string name) =>
        MyInvocation.BoundParameters.TryGetValue(name, out object? value) && LanguagePrimitives.IsTrue(value);

    /// <summary>Returns whether <c>-WhatIf</c> is in effect (the switch or <c>$WhatIfPreference</c>).</summary>
    protected bool IsWhatIf()
    {
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? value))
        {
            return LanguagePrimitives.IsTrue(value);
        }
        return LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference", false));
    }

    /// <summary>Converts a local or UTC <see cref="DateTime"/> parameter to an instant (unspecified kinds are local).</summary>
    protected static DateTimeOffset? ToInstant(DateTime? value) =>
        value is DateTime dt ? new DateTimeOffset(dt.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dt, DateTimeKind.Local) : dt) : null;

    private void WriteProgressUpdate(ProgressUpdate update)
    {
        _progress ??= new ProgressRecord(_activityId, update.Activity, update.StatusDescription);
        _progress.Activity = update.Activity;
        _progress.StatusDescription = update.StatusDescription;
        _progress.PercentComplete = update.PercentComplete;
        _progress.SecondsRemaining = update.SecondsRemaining;
        _progress.RecordType = update.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing;
        WriteProgress(_progress);
    }
}
