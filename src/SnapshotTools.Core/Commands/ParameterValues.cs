using SnapshotTools.Engine;
using SnapshotTools.Engine.Streams;

namespace SnapshotTools.Core;

/// <summary>
/// Parses the cmdlets' string parameters that stand for engine enums. The cmdlets take strings (with ValidateSet)
/// because an engine value type in a cmdlet's fields would make PowerShell load the engine while it lists the module's
/// types, before the module's load context is in place.
/// </summary>
public static class ParameterValues
{
    /// <summary>Parses a compression name (none, deflate, brotli, zstd; any case); null stays null.</summary>
    /// <exception cref="SnapshotToolsException">InvalidArgument for an unknown name.</exception>
    public static StreamCompression? Compression(string? value) => Parse<StreamCompression>(value, "compression");

    /// <summary>Parses a protection mode name (PreserveAndFilter, DoNotPreserve; any case).</summary>
    /// <exception cref="SnapshotToolsException">InvalidArgument for an unknown name.</exception>
    public static ProtectionMode ProtectionMode(string value) => Parse<ProtectionMode>(value, "protection mode") ?? Engine.ProtectionMode.PreserveAndFilter;

    private static T? Parse<T>(string? value, string what)
        where T : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (!int.TryParse(value, out _) && Enum.TryParse(value.Trim(), ignoreCase: true, out T parsed) && Enum.IsDefined(parsed))
        {
            return parsed;
        }
        throw new SnapshotToolsException(SnapshotErrorCode.InvalidArgument, $"Invalid {what} '{value}': use one of {string.Join(", ", Enum.GetNames<T>())}.");
    }
}
