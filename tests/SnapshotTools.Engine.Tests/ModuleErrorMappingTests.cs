using System.Reflection;
using SnapshotTools.Core;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public class ModuleErrorMappingTests
{
    [Fact]
    public void Every_engine_code_has_its_name_as_id_and_a_real_category()
    {
        foreach (SnapshotErrorCode code in Enum.GetValues<SnapshotErrorCode>())
        {
            ModuleError e = ErrorMapping.Describe(new SnapshotToolsException(code, "message " + code));
            Assert.Equal(code.ToString(), e.ErrorId);
            Assert.NotEqual(ModuleErrorCategory.NotSpecified, e.Category);
            Assert.Equal("message " + code, e.Message);
        }
    }

    [Theory]
    [InlineData(SnapshotErrorCode.UnknownSnapshot, ModuleErrorCategory.ObjectNotFound)]
    [InlineData(SnapshotErrorCode.VolumeNotFound, ModuleErrorCategory.ObjectNotFound)]
    [InlineData(SnapshotErrorCode.UnknownBackup, ModuleErrorCategory.ObjectNotFound)]
    [InlineData(SnapshotErrorCode.VolumeInUse, ModuleErrorCategory.ResourceBusy)]
    [InlineData(SnapshotErrorCode.RepositoryInUse, ModuleErrorCategory.ResourceBusy)]
    [InlineData(SnapshotErrorCode.NameInUse, ModuleErrorCategory.ResourceExists)]
    [InlineData(SnapshotErrorCode.VolumeExists, ModuleErrorCategory.ResourceExists)]
    [InlineData(SnapshotErrorCode.CorruptStream, ModuleErrorCategory.InvalidData)]
    [InlineData(SnapshotErrorCode.WrongKey, ModuleErrorCategory.AuthenticationError)]
    [InlineData(SnapshotErrorCode.Cancelled, ModuleErrorCategory.OperationStopped)]
    [InlineData(SnapshotErrorCode.BackupHasDependents, ModuleErrorCategory.InvalidOperation)]
    [InlineData(SnapshotErrorCode.InvalidArgument, ModuleErrorCategory.InvalidArgument)]
    public void Categories_say_what_kind_of_failure_it_is(SnapshotErrorCode code, ModuleErrorCategory expected)
    {
        Assert.Equal(expected, ErrorMapping.CategoryOf(code));
    }

    [Fact]
    public void Other_exceptions_get_fixed_ids()
    {
        Assert.Equal(("FileNotFound", ModuleErrorCategory.ObjectNotFound), Map(new FileNotFoundException("x")));
        Assert.Equal(("DirectoryNotFound", ModuleErrorCategory.ObjectNotFound), Map(new DirectoryNotFoundException("x")));
        Assert.Equal(("PermissionDenied", ModuleErrorCategory.PermissionDenied), Map(new UnauthorizedAccessException("x")));
        Assert.Equal(("Cancelled", ModuleErrorCategory.OperationStopped), Map(new OperationCanceledException()));
        Assert.Equal(("InvalidArgument", ModuleErrorCategory.InvalidArgument), Map(new ArgumentException("x")));
        Assert.Equal(("DiskFull", ModuleErrorCategory.WriteError), Map(new IOException("No space left on device", 28)));
        Assert.Equal(("IoFailure", ModuleErrorCategory.DeviceError), Map(new IOException("x")));
        Assert.Equal(("UnexpectedError", ModuleErrorCategory.NotSpecified), Map(new ApplicationException("x")));
        Assert.Equal(("VolumeInUse", ModuleErrorCategory.ResourceBusy), Map(new AggregateException(new SnapshotToolsException(SnapshotErrorCode.VolumeInUse, "x"))));
    }

    [Fact]
    public void Categories_mirror_PowerShell_ErrorCategory_names_and_values()
    {
        // Read the PowerShell reference assembly as metadata only: no PowerShell code is loaded or run.
        using var context = ModuleMetadata.CreateContext();
        Type errorCategory = context.LoadFromAssemblyPath(ModuleMetadata.PowerShellStandardPath).GetType("System.Management.Automation.ErrorCategory", throwOnError: true)!;
        var expected = errorCategory.GetFields(BindingFlags.Public | BindingFlags.Static).ToDictionary(f => f.Name, f => Convert.ToInt32(f.GetRawConstantValue()));
        var actual = Enum.GetValues<ModuleErrorCategory>().ToDictionary(c => c.ToString(), c => (int)c);
        Assert.Equal(expected.OrderBy(p => p.Key), actual.OrderBy(p => p.Key));
    }

    [Fact]
    public void Confirmation_rules()
    {
        Assert.True(ConfirmationRules.SkipPrompt(force: true, confirmRequested: false, whatIf: false));
        Assert.False(ConfirmationRules.SkipPrompt(force: true, confirmRequested: true, whatIf: false));
        Assert.False(ConfirmationRules.SkipPrompt(force: true, confirmRequested: false, whatIf: true));
        Assert.False(ConfirmationRules.SkipPrompt(force: false, confirmRequested: false, whatIf: false));
        Assert.True(ConfirmationRules.NeedsContinue(force: false, destructive: true, whatIf: false));
        Assert.False(ConfirmationRules.NeedsContinue(force: true, destructive: true, whatIf: false));
        Assert.False(ConfirmationRules.NeedsContinue(force: false, destructive: true, whatIf: true));
        Assert.False(ConfirmationRules.NeedsContinue(force: false, destructive: false, whatIf: false));
    }

    [Fact]
    public void Enum_parameters_parse_names_only()
    {
        Assert.Equal(Streams.StreamCompression.Zstd, ParameterValues.Compression("zstd"));
        Assert.Null(ParameterValues.Compression(null));
        Assert.Equal(ProtectionMode.DoNotPreserve, ParameterValues.ProtectionMode("donotpreserve"));
        Assert.Equal(SnapshotErrorCode.InvalidArgument, Assert.Throws<SnapshotToolsException>(() => ParameterValues.Compression("2")).Code);
        Assert.Equal(SnapshotErrorCode.InvalidArgument, Assert.Throws<SnapshotToolsException>(() => ParameterValues.Compression("lzma")).Code);
    }

    private static (string, ModuleErrorCategory) Map(Exception ex)
    {
        ModuleError e = ErrorMapping.Describe(ex);
        return (e.ErrorId, e.Category);
    }
}
