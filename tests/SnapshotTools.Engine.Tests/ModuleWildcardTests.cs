using SnapshotTools.Core;
using Xunit;

namespace SnapshotTools.Engine.Tests;

public class ModuleWildcardTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("db*", "db01", true)]
    [InlineData("db*", "DB01", true)]
    [InlineData("db*", "xdb01", false)]
    [InlineData("*-1", "nightly-1", true)]
    [InlineData("*-1", "nightly-10", false)]
    [InlineData("night?y-*", "nightly-7", true)]
    [InlineData("nightly-[0-9]", "nightly-7", true)]
    [InlineData("nightly-[0-9]", "nightly-x", false)]
    [InlineData("[abc]x", "Bx", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("a`*", "a*", true)]
    [InlineData("a`*", "ab", false)]
    [InlineData("a`[1]", "a[1]", true)]
    [InlineData("plain", "plain", true)]
    [InlineData("plain", "plainer", false)]
    public void Matches_like_PowerShell(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, new WildcardMatcher(pattern).IsMatch(text));
    }

    [Theory]
    [InlineData("db01", false)]
    [InlineData("db*", true)]
    [InlineData("db?", true)]
    [InlineData("db[12]", true)]
    [InlineData("db`*", false)]
    [InlineData("", false)]
    public void Knows_wildcards_from_literals(string text, bool expected)
    {
        Assert.Equal(expected, WildcardMatcher.ContainsWildcard(text));
    }

    [Fact]
    public void Escape_and_unescape_round_trip()
    {
        const string name = "odd[1]*name?`x";
        string escaped = WildcardMatcher.Escape(name);
        Assert.False(WildcardMatcher.ContainsWildcard(escaped));
        Assert.True(new WildcardMatcher(escaped).IsMatch(name));
        Assert.False(new WildcardMatcher(escaped).IsMatch("odd1name"));
        Assert.Equal(name, WildcardMatcher.Unescape(escaped));
    }

    [Fact]
    public void Unclosed_bracket_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => new WildcardMatcher("db[1"));
    }

    [Fact]
    public void No_patterns_match_everything()
    {
        Assert.True(WildcardMatcher.MatchesAny(null, "x"));
        Assert.True(WildcardMatcher.MatchesAny(Array.Empty<string>(), "x"));
        Assert.True(WildcardMatcher.MatchesAny(new[] { "y*", "x" }, "x"));
        Assert.False(WildcardMatcher.MatchesAny(new[] { "y*" }, "x"));
    }

    [Fact]
    public void Long_star_patterns_match_correctly()
    {
        // A backtracking matcher would take exponential time here; this one is linear. No timing assertion (timing
        // belongs in benchmarks): the test checks the answers on inputs that defeat naive matchers.
        string text = new string('a', 20_000);
        var matcher = new WildcardMatcher("*a*a*a*a*a*b");
        Assert.False(matcher.IsMatch(text));
        Assert.True(matcher.IsMatch(text + "b"));
    }
}
