using System.Collections.ObjectModel;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace SnapshotTools.Engine.Tests;

/// <summary>
/// The module's contract, read from the compiled module as metadata (MetadataLoadContext over the module folder the
/// build laid out and the PowerShellStandard reference assembly): verbs, output types, ShouldProcess, pipeline binding,
/// the manifest, help and the dependency layout. No PowerShell is loaded or run.
/// </summary>
public sealed class ModuleContractTests : IDisposable
{
    // Get-Verb of PowerShell 7.4 (the module's minimum); a verb outside this list makes Import-Module warn.
    private static readonly HashSet<string> s_approvedVerbs = new(StringComparer.Ordinal)
    {
        "Add", "Approve", "Assert", "Backup", "Block", "Build", "Checkpoint", "Clear", "Close", "Compare", "Complete", "Compress", "Confirm", "Connect",
        "Convert", "ConvertFrom", "ConvertTo", "Copy", "Debug", "Deny", "Deploy", "Disable", "Disconnect", "Dismount", "Edit", "Enable", "Enter", "Exit",
        "Expand", "Export", "Find", "Format", "Get", "Grant", "Group", "Hide", "Import", "Initialize", "Install", "Invoke", "Join", "Limit", "Lock",
        "Measure", "Merge", "Mount", "Move", "New", "Open", "Optimize", "Out", "Ping", "Pop", "Protect", "Publish", "Push", "Read", "Receive", "Redo",
        "Register", "Remove", "Rename", "Repair", "Request", "Reset", "Resize", "Resolve", "Restart", "Restore", "Resume", "Revoke", "Save", "Search",
        "Select", "Send", "Set", "Show", "Skip", "Split", "Start", "Step", "Stop", "Submit", "Suspend", "Switch", "Sync", "Test", "Trace", "Unblock",
        "Undo", "Uninstall", "Unlock", "Unprotect", "Unpublish", "Unregister", "Update", "Use", "Wait", "Watch", "Write",
    };

    // Verbs that only look: everything else changes data and must support -WhatIf/-Confirm.
    private static readonly HashSet<string> s_readOnlyVerbs = new(StringComparer.Ordinal) { "Get", "Test", "Compare", "Find", "Search", "Measure", "Show", "Read", "Resolve", "Select", "Watch", "Trace" };

    private readonly MetadataLoadContext _context = ModuleMetadata.CreateContext();
    private readonly Assembly _module;
    private readonly List<Cmdlet> _cmdlets;

    public ModuleContractTests()
    {
        string dll = Path.Combine(ModuleMetadata.ModuleFolder, "SnapshotTools.dll");
        Assert.True(File.Exists(dll), $"The module is not built at '{dll}' (dotnet build builds and lays it out).");
        _module = _context.LoadFromAssemblyPath(dll);
        _cmdlets = _module.GetTypes().Select(Cmdlet.TryRead).Where(c => c != null).Select(c => c!).OrderBy(c => c.Name).ToList();
    }

    public void Dispose() => _context.Dispose();

    [Fact]
    public void The_module_has_the_commands_users_write()
    {
        string[] names = _cmdlets.Select(c => c.Name).ToArray();
        Assert.Contains("Get-SnapshotDelta", names);
        Assert.Contains("Export-Backup", names);
        foreach (string noun in new[] { "SnapshotVolume", "VolumeSnapshot", "Backup" })
        {
            Assert.True(names.Count(n => n.EndsWith("-" + noun, StringComparison.Ordinal)) >= 5, noun);
        }
        Assert.True(_cmdlets.Count >= 20);
    }

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb_and_a_distinctive_noun()
    {
        foreach (Cmdlet c in _cmdlets)
        {
            Assert.True(s_approvedVerbs.Contains(c.Verb), $"{c.Name}: '{c.Verb}' is not an approved verb");
            Assert.Matches("^(SnapshotVolume|VolumeSnapshot|SnapshotDelta|Backup|SnapshotToolsConfig)$", c.Noun);
            Assert.Equal(c.Verb + c.Noun + "Command", c.Type.Name);
            Assert.True(c.Type.IsSealed, $"{c.Name} is not sealed");
            Assert.True(c.Type.IsPublic);
            Assert.True(DerivesFrom(c.Type, "System.Management.Automation.PSCmdlet"), $"{c.Name} is not a PSCmdlet");
        }
    }

    [Fact]
    public void Every_cmdlet_lives_in_its_own_file()
    {
        string folder = Path.Combine(ModuleMetadata.RepositoryRoot, "src", "SnapshotTools", "Commands");
        foreach (Cmdlet c in _cmdlets)
        {
            Assert.True(File.Exists(Path.Combine(folder, c.Type.Name + ".cs")), $"{c.Type.Name}.cs");
        }
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        foreach (Cmdlet c in _cmdlets)
        {
            Assert.True(c.OutputTypes.Count > 0, $"{c.Name} has no [OutputType]");
            Assert.DoesNotContain(c.OutputTypes, t => t.FullName == "System.Void" || t.FullName == "System.Object");
        }
    }

    [Fact]
    public void Commands_that_change_data_support_ShouldProcess()
    {
        foreach (Cmdlet c in _cmdlets)
        {
            bool changes = !s_readOnlyVerbs.Contains(c.Verb);
            Assert.True(changes == c.SupportsShouldProcess, $"{c.Name}: SupportsShouldProcess is {c.SupportsShouldProcess}");
        }
    }

    [Fact]
    public void Rollback_and_removal_have_high_impact_and_Force()
    {
        foreach (Cmdlet c in _cmdlets.Where(c => c.Verb == "Remove" || c.Name == "Restore-VolumeSnapshot"))
        {
            Assert.True(c.ConfirmImpact == 3, $"{c.Name}: ConfirmImpact {c.ConfirmImpact}, not High");
            Assert.True(c.Parameters.ContainsKey("Force"), $"{c.Name} has no -Force");
        }
        // Imports overwrite only with -Force.
        foreach (Cmdlet c in _cmdlets.Where(c => c.Verb == "Import"))
        {
            Assert.True(c.Parameters.ContainsKey("Force"), $"{c.Name} has no -Force");
        }
        // Nothing else prompts by default.
        foreach (Cmdlet c in _cmdlets.Where(c => c.Verb != "Remove" && c.Name != "Restore-VolumeSnapshot"))
        {
            Assert.True(c.ConfirmImpact < 3, $"{c.Name} prompts by default");
        }
    }

    [Fact]
    public void Export_Backup_binds_the_delta_by_property_name()
    {
        Cmdlet export = Get("Export-Backup");
        Type delta = Assert.Single(Get("Get-SnapshotDelta").OutputTypes);
        Assert.Equal("SnapshotTools.SnapshotDelta", delta.FullName);
        HashSet<string> properties = PropertyNames(new[] { delta });
        List<Parameter> byName = export.Parameters.Values.Where(p => p.Bindings.Any(b => b.ByPropertyName)).ToList();
        Assert.NotEmpty(byName);
        foreach (Parameter p in byName)
        {
            Assert.True(p.Names.Any(properties.Contains), $"Export-Backup -{p.Name} ({string.Join(", ", p.Names)}) matches no property of {delta.Name}");
        }
        foreach (string wanted in new[] { "VolumePath", "From", "To", "IsFull" })
        {
            Assert.Contains(byName, p => p.Names.Contains(wanted));
        }
        Assert.True(BindsFrom(export, new[] { delta }, explicitlyGiven: new[] { "Repository" }), "Get-SnapshotDelta | Export-Backup leaves a mandatory parameter unbound");
    }

    [Fact]
    public void Every_pipe_in_the_help_examples_binds()
    {
        var byName = _cmdlets.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        int pairs = 0;
        foreach ((string command, string code) in HelpExamples())
        {
            foreach (string line in code.Split('\n'))
            {
                string[] segments = SplitPipeline(line);
                for (int i = 0; i + 1 < segments.Length; i++)
                {
                    string left = FirstWord(segments[i]);
                    string right = FirstWord(segments[i + 1]);
                    if (!byName.TryGetValue(left, out Cmdlet? from) || !byName.TryGetValue(right, out Cmdlet? to))
                    {
                        continue;
                    }
                    pairs++;
                    string[] given = Regex.Matches(segments[i + 1], @"(?<=\s)-([A-Za-z]+)").Select(m => m.Groups[1].Value).ToArray();
                    Assert.True(BindsFrom(to, from.OutputTypes, given), $"Help of {command}: in '{line.Trim()}', {right} binds nothing it needs from {left}'s output ({string.Join(", ", from.OutputTypes.Select(t => t.Name))})");
                }
            }
        }
        Assert.True(pairs >= 10, $"only {pairs} module-to-module pipes in the help examples");
    }

    [Fact]
    public void Volume_parameters_bind_VolumePath_and_snapshot_parameters_SnapshotName()
    {
        foreach (Cmdlet c in _cmdlets)
        {
            foreach (Parameter p in c.Parameters.Values.Where(p => p.Name == "Volume" && p.Bindings.Any(b => b.ByPropertyName)))
            {
                Assert.Contains("VolumePath", p.Names);
            }
            // A parameter that would bind a volume's or snapshot's plain Name by property name would mix them up.
            foreach (Parameter p in c.Parameters.Values.Where(p => p.Bindings.Any(b => b.ByPropertyName)))
            {
                Assert.DoesNotContain("Name", p.Names);
            }
        }
        Assert.Contains("SnapshotName", Get("Get-SnapshotDelta").Parameters["From"].Names);
    }

    [Fact]
    public void Path_parameters_come_with_LiteralPath_aliased_PSPath()
    {
        foreach (Cmdlet c in _cmdlets.Where(c => c.Parameters.ContainsKey("Path") && c.Noun != "SnapshotToolsConfig"))
        {
            Assert.True(c.Parameters.TryGetValue("LiteralPath", out Parameter? literal), $"{c.Name} has -Path but no -LiteralPath");
            Assert.Contains("PSPath", literal!.Names);
            Assert.DoesNotContain(c.Parameters["Path"].Bindings, b => b.ByValue);
        }
    }

    [Fact]
    public void String_parameters_never_take_whole_objects_from_the_pipeline()
    {
        // A [string] ValueFromPipeline parameter would bind any piped object through ToString().
        foreach (Cmdlet c in _cmdlets)
        {
            foreach (Parameter p in c.Parameters.Values.Where(p => p.Bindings.Any(b => b.ByValue)))
            {
                Assert.False(p.Type.FullName is "System.String" or "System.String[]" or "System.Object", $"{c.Name} -{p.Name}");
            }
        }
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlet_classes()
    {
        string psd1 = File.ReadAllText(Path.Combine(ModuleMetadata.RepositoryRoot, "SnapshotTools.psd1"));
        Assert.Equal(psd1, File.ReadAllText(Path.Combine(ModuleMetadata.ModuleFolder, "SnapshotTools.psd1")));
        string[] exported = ListValue(psd1, "CmdletsToExport");
        Assert.Equal(_cmdlets.Select(c => c.Name).OrderBy(n => n), exported.OrderBy(n => n));
        Assert.Equal(exported.Length, exported.Distinct().Count());
        foreach (string key in new[] { "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
        {
            Assert.Matches(new Regex($@"(?m)^\s*{key}\s*=\s*@\(\s*\)"), psd1);
        }
        Assert.Matches(@"(?m)^\s*PowerShellVersion\s*=\s*'7\.4'", psd1);
        Assert.Matches(@"(?m)^\s*RootModule\s*=\s*'SnapshotTools\.dll'", psd1);
        Assert.DoesNotContain("DefaultCommandPrefix", psd1);
        foreach (string file in ListValue(psd1, "FormatsToProcess"))
        {
            Assert.True(File.Exists(Path.Combine(ModuleMetadata.ModuleFolder, file)), file);
        }
    }

    [Fact]
    public void Every_cmdlet_has_MAML_help_with_an_example()
    {
        string helpFile = Path.Combine(ModuleMetadata.ModuleFolder, "en-US", "SnapshotTools.dll-Help.xml");
        Assert.True(File.Exists(Path.Combine(ModuleMetadata.ModuleFolder, "en-US", "about_SnapshotTools.help.txt")));
        XDocument help = XDocument.Load(helpFile);
        var commands = help.Descendants(Command + "command").ToDictionary(e => e.Element(Command + "details")!.Element(Command + "name")!.Value);
        Assert.Equal(_cmdlets.Select(c => c.Name).OrderBy(n => n), commands.Keys.OrderBy(n => n));
        foreach (Cmdlet c in _cmdlets)
        {
            XElement entry = commands[c.Name];
            Assert.False(string.IsNullOrWhiteSpace(entry.Element(Command + "details")!.Element(Maml + "description")?.Value), $"{c.Name} has no synopsis");
            XElement[] examples = entry.Descendants(Command + "example").ToArray();
            Assert.True(examples.Length > 0, $"{c.Name} has no example");
            Assert.All(examples, e => Assert.Contains(c.Name, e.Element(Dev + "code")!.Value));
            // The help describes the parameters the cmdlet has, and only those.
            var documented = entry.Element(Command + "parameters")!.Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value).ToHashSet();
            Assert.Equal(c.Parameters.Keys.OrderBy(k => k), documented.OrderBy(k => k));
        }
    }

    [Fact]
    public void Dependencies_load_from_their_own_folder_and_YamlDotNet_stays_inside()
    {
        string folder = ModuleMetadata.ModuleFolder;
        foreach (string dll in new[] { "SnapshotTools.Core.dll", "SnapshotTools.Engine.dll", "YamlDotNet.dll" })
        {
            Assert.True(File.Exists(Path.Combine(folder, "dependencies", dll)), dll);
            Assert.False(File.Exists(Path.Combine(folder, dll)), $"{dll} must not sit beside SnapshotTools.dll, where the default load context would find it");
        }
        Assert.False(File.Exists(Path.Combine(folder, "System.Management.Automation.dll")), "the PowerShell facade must not ship");
        Assert.Empty(Directory.GetFiles(folder, "System.Management.Automation.dll", SearchOption.AllDirectories));

        Type init = _module.GetType("SnapshotTools.Commands.Loading.ModuleInitializer", throwOnError: true)!;
        Assert.Contains(init.GetInterfaces(), i => i.FullName == "System.Management.Automation.IModuleAssemblyInitializer");
        Assert.Contains(_module.GetTypes(), t => t.BaseType?.FullName == "System.Runtime.Loader.AssemblyLoadContext");

        // The cmdlet assembly never references YamlDotNet; no public signature of the module, Core or the engine names it.
        Assert.DoesNotContain(_module.GetReferencedAssemblies(), a => a.Name == "YamlDotNet");
        foreach (string name in new[] { "SnapshotTools.dll", "dependencies/SnapshotTools.Core.dll", "dependencies/SnapshotTools.Engine.dll" })
        {
            Assembly a = _context.LoadFromAssemblyPath(Path.Combine(folder, name));
            foreach (Type t in a.GetExportedTypes())
            {
                foreach (MemberInfo m in t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    foreach (Type used in SignatureTypes(m))
                    {
                        Assert.False(used.Assembly.GetName().Name == "YamlDotNet", $"{t.FullName}.{m.Name} exposes {used.FullName}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Cmdlet_types_load_without_the_dependencies()
    {
        // PowerShell lists the module's exported types before the module initializer runs. A value-type field from
        // the engine or Core (an enum parameter, say) would make that listing load the engine into the wrong context.
        foreach (Type t in _module.GetExportedTypes())
        {
            for (Type? x = t; x != null && x.Assembly == _module; x = x.BaseType)
            {
                foreach (FieldInfo f in x.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    Type ft = Nullable.GetUnderlyingType(f.FieldType) ?? f.FieldType;
                    if (ft.IsValueType)
                    {
                        Assert.False(ft.Assembly.GetName().Name!.StartsWith("SnapshotTools.", StringComparison.Ordinal) || ft.Assembly.GetName().Name == "YamlDotNet",
                            $"{t.Name}.{f.Name} is a {ft.FullName}: use a string parameter");
                    }
                }
                Assert.False(x.BaseType != null && x.BaseType.Assembly.GetName().Name is "SnapshotTools.Core" or "SnapshotTools.Engine", $"{t.Name} derives from a dependency type");
            }
        }
    }

    [Fact]
    public void Format_views_cover_the_output_types()
    {
        XDocument format = XDocument.Load(Path.Combine(ModuleMetadata.ModuleFolder, "SnapshotTools.Format.ps1xml"));
        var viewed = format.Descendants("TypeName").Select(e => e.Value).ToHashSet();
        var outputs = _cmdlets.SelectMany(c => c.OutputTypes).Where(t => t.Namespace == "SnapshotTools").Select(t => t.FullName!).ToHashSet();
        Assert.NotEmpty(outputs);
        foreach (string t in outputs)
        {
            Assert.Contains(t, viewed);
            string[] kinds = format.Descendants("View").Where(v => v.Descendants("TypeName").Any(n => n.Value == t)).Select(v => v.Elements().Last().Name.LocalName).ToArray();
            Assert.Contains("ListControl", kinds);
        }
        Assembly core = _context.LoadFromAssemblyPath(Path.Combine(ModuleMetadata.ModuleFolder, "dependencies", "SnapshotTools.Core.dll"));
        foreach (string t in viewed)
        {
            Assert.NotNull(core.GetType(t));
        }
        // Property names a view uses exist on its type.
        foreach (XElement view in format.Descendants("View"))
        {
            Type type = core.GetType(view.Descendants("TypeName").Single().Value)!;
            HashSet<string> props = PropertyNames(new[] { type });
            foreach (XElement p in view.Descendants("PropertyName"))
            {
                Assert.True(props.Contains(p.Value), $"{view.Element("Name")!.Value}: {type.Name} has no property {p.Value}");
            }
        }
    }

    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private Cmdlet Get(string name) => _cmdlets.Single(c => c.Name == name);

    private static IEnumerable<(string Command, string Code)> HelpExamples()
    {
        XDocument help = XDocument.Load(Path.Combine(ModuleMetadata.ModuleFolder, "en-US", "SnapshotTools.dll-Help.xml"));
        foreach (XElement command in help.Descendants(Command + "command"))
        {
            string name = command.Element(Command + "details")!.Element(Command + "name")!.Value;
            foreach (XElement code in command.Descendants(Dev + "code"))
            {
                yield return (name, code.Value);
            }
        }
    }

    /// <summary>
    /// Whether piping objects of <paramref name="inputs"/> into <paramref name="target"/> binds something, and leaves no
    /// mandatory parameter of some parameter set unbound (counting those given on the command line).
    /// </summary>
    private static bool BindsFrom(Cmdlet target, IReadOnlyList<Type> inputs, IEnumerable<string> explicitlyGiven)
    {
        HashSet<string> properties = PropertyNames(inputs);
        var given = new HashSet<string>(explicitlyGiven, StringComparer.OrdinalIgnoreCase);
        foreach (string set in target.ParameterSets)
        {
            var bound = new HashSet<string>(StringComparer.Ordinal);
            foreach (Parameter p in target.Parameters.Values)
            {
                foreach (Binding b in p.Bindings.Where(b => b.Set == set || b.Set == AllSets))
                {
                    bool byValue = b.ByValue && inputs.Any(i => IsAssignable(p.Type, i));
                    bool byProperty = b.ByPropertyName && p.Names.Any(properties.Contains);
                    if (byValue || byProperty)
                    {
                        bound.Add(p.Name);
                    }
                }
            }
            if (bound.Count == 0)
            {
                continue;
            }
            bool complete = target.Parameters.Values
                .Where(p => p.Bindings.Any(b => (b.Set == set || b.Set == AllSets) && b.Mandatory))
                .All(p => bound.Contains(p.Name) || p.Names.Any(given.Contains) || given.Any(g => p.Name.StartsWith(g, StringComparison.OrdinalIgnoreCase)));
            if (complete)
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsAssignable(Type parameterType, Type input)
    {
        Type element = parameterType.IsArray ? parameterType.GetElementType()! : parameterType;
        for (Type? t = input; t != null; t = t.BaseType)
        {
            if (t.FullName == element.FullName)
            {
                return true;
            }
        }
        return false;
    }

    private static HashSet<string> PropertyNames(IEnumerable<Type> types) =>
        types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

    private static string[] SplitPipeline(string line)
    {
        // Pipes inside quotes, braces or parentheses do not split the pipeline.
        var parts = new List<string>();
        int depth = 0;
        char quote = '\0';
        int start = 0;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                continue;
            }
            switch (c)
            {
                case '\'' or '"':
                    quote = c;
                    break;
                case '(' or '{':
                    depth++;
                    break;
                case ')' or '}':
                    depth--;
                    break;
                case '|' when depth == 0:
                    parts.Add(line.Substring(start, i - start));
                    start = i + 1;
                    break;
            }
        }
        parts.Add(line.Substring(start));
        return parts.ToArray();
    }

    private static string FirstWord(string segment)
    {
        string s = segment.Trim();
        int space = s.IndexOf(' ');
        return space < 0 ? s : s.Substring(0, space);
    }

    private static string[] ListValue(string psd1, string key)
    {
        Match m = Regex.Match(psd1, key + @"\s*=\s*@\(([^)]*)\)");
        Assert.True(m.Success, key);
        return Regex.Matches(m.Groups[1].Value, "'([^']+)'").Select(x => x.Groups[1].Value).ToArray();
    }

    private static IEnumerable<Type> SignatureTypes(MemberInfo m)
    {
        IEnumerable<Type> Expand(Type t)
        {
            yield return t;
            if (t.HasElementType)
            {
                foreach (Type e in Expand(t.GetElementType()!))
                {
                    yield return e;
                }
            }
            if (t.IsGenericType)
            {
                foreach (Type a in t.GetGenericArguments().SelectMany(Expand))
                {
                    yield return a;
                }
            }
        }
        return m switch
        {
            PropertyInfo p => Expand(p.PropertyType),
            FieldInfo f => Expand(f.FieldType),
            MethodInfo mi => Expand(mi.ReturnType).Concat(mi.GetParameters().SelectMany(p => Expand(p.ParameterType))),
            ConstructorInfo ci => ci.GetParameters().SelectMany(p => Expand(p.ParameterType)),
            _ => Array.Empty<Type>(),
        };
    }

    private static bool DerivesFrom(Type type, string fullName)
    {
        for (Type? t = type.BaseType; t != null; t = t.BaseType)
        {
            if (t.FullName == fullName)
            {
                return true;
            }
        }
        return false;
    }

    private const string AllSets = "__AllParameterSets";

    private sealed record Binding(string Set, bool Mandatory, bool ByValue, bool ByPropertyName);

    private sealed record Parameter(string Name, Type Type, IReadOnlyList<string> Names, IReadOnlyList<Binding> Bindings);

    private sealed record Cmdlet(Type Type, string Verb, string Noun, bool SupportsShouldProcess, int ConfirmImpact, IReadOnlyList<Type> OutputTypes, IReadOnlyDictionary<string, Parameter> Parameters)
    {
        public string Name => Verb + "-" + Noun;

        public IEnumerable<string> ParameterSets
        {
            get
            {
                var sets = Parameters.Values.SelectMany(p => p.Bindings).Select(b => b.Set).Where(s => s != AllSets).Distinct().ToList();
                return sets.Count == 0 ? new[] { AllSets } : sets;
            }
        }

        public static Cmdlet? TryRead(Type type)
        {
            CustomAttributeData? cmdlet = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute");
            if (cmdlet == null)
            {
                return null;
            }
            string verb = (string)cmdlet.ConstructorArguments[0].Value!;
            string noun = (string)cmdlet.ConstructorArguments[1].Value!;
            bool shouldProcess = Named(cmdlet, "SupportsShouldProcess") is bool b && b;
            int impact = Named(cmdlet, "ConfirmImpact") is int i ? i : 2;
            var outputs = new List<Type>();
            foreach (CustomAttributeData o in type.GetCustomAttributesData().Where(a => a.AttributeType.FullName == "System.Management.Automation.OutputTypeAttribute"))
            {
                foreach (CustomAttributeTypedArgument arg in o.ConstructorArguments)
                {
                    if (arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> many)
                    {
                        outputs.AddRange(many.Select(x => (Type)x.Value!));
                    }
                    else if (arg.Value is Type t)
                    {
                        outputs.Add(t);
                    }
                }
            }
            var parameters = new Dictionary<string, Parameter>(StringComparer.Ordinal);
            foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var bindings = p.GetCustomAttributesData()
                    .Where(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute")
                    .Select(a => new Binding(
                        Named(a, "ParameterSetName") as string ?? AllSets,
                        Named(a, "Mandatory") is true,
                        Named(a, "ValueFromPipeline") is true,
                        Named(a, "ValueFromPipelineByPropertyName") is true))
                    .ToList();
                if (bindings.Count == 0)
                {
                    continue;
                }
                var names = new List<string> { p.Name };
                foreach (CustomAttributeData alias in p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == "System.Management.Automation.AliasAttribute"))
                {
                    names.AddRange(((ReadOnlyCollection<CustomAttributeTypedArgument>)alias.ConstructorArguments[0].Value!).Select(x => (string)x.Value!));
                }
                parameters[p.Name] = new Parameter(p.Name, p.PropertyType, names, bindings);
            }
            return new Cmdlet(type, verb, noun, shouldProcess, impact, outputs, parameters);
        }

        private static object? Named(CustomAttributeData a, string name) =>
            a.NamedArguments.Where(n => n.MemberName == name).Select(n => n.TypedValue.Value).FirstOrDefault();
    }
}
