namespace SnapshotTools.Core;

/// <summary>What the cmdlets put into an error record for a failure: a stable id, a category and the message.</summary>
/// <param name="ErrorId">The stable error id (a <see cref="Engine.SnapshotErrorCode"/> name for engine failures).</param>
/// <param name="Category">The PowerShell error category.</param>
/// <param name="Message">The message for a person.</param>
/// <param name="Exception">The exception.</param>
public sealed record ModuleError(string ErrorId, ModuleErrorCategory Category, string Message, Exception Exception);
