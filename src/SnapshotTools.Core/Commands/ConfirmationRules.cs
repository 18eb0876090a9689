namespace SnapshotTools.Core;

/// <summary>
/// When a command that changes data may skip its confirmation prompt. <c>-Force</c> skips the prompt of a high-impact
/// command (rollback, removal, overwriting), but never <c>-WhatIf</c>, and an explicit <c>-Confirm</c> still asks.
/// </summary>
public static class ConfirmationRules
{
    /// <summary>Returns whether the command goes ahead without calling ShouldProcess (which would prompt).</summary>
    /// <param name="force">Whether <c>-Force</c> was given.</param>
    /// <param name="confirmRequested">Whether <c>-Confirm</c> was given (and not <c>-Confirm:$false</c>).</param>
    /// <param name="whatIf">Whether <c>-WhatIf</c> is in effect (the switch or <c>$WhatIfPreference</c>).</param>
    public static bool SkipPrompt(bool force, bool confirmRequested, bool whatIf) => force && !confirmRequested && !whatIf;

    /// <summary>Returns whether an extra "this cannot be undone" question is needed beyond ShouldProcess (overwrites and data loss without -Force).</summary>
    /// <param name="force">Whether <c>-Force</c> was given.</param>
    /// <param name="destructive">Whether the step destroys data that no snapshot or backup keeps.</param>
    /// <param name="whatIf">Whether <c>-WhatIf</c> is in effect.</param>
    public static bool NeedsContinue(bool force, bool destructive, bool whatIf) => destructive && !force && !whatIf;
}
