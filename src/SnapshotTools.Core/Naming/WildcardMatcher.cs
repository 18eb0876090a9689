using System.Text;

namespace SnapshotTools.Core;

/// <summary>
/// Wildcard patterns as PowerShell reads them (<c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, and the backtick to take
/// the next character literally), matched case-insensitively. Kept here rather than using
/// <c>System.Management.Automation.WildcardPattern</c> so that filtering is tested without PowerShell.
/// </summary>
public sealed class WildcardMatcher
{
    private readonly Token[] _tokens;

    /// <summary>Parses <paramref name="pattern"/>.</summary>
    /// <exception cref="ArgumentException">The pattern has an unclosed <c>[</c>.</exception>
    public WildcardMatcher(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        Pattern = pattern;
        _tokens = Parse(pattern);
    }

    /// <summary>Gets the pattern text.</summary>
    public string Pattern { get; }

    /// <summary>Returns whether <paramref name="text"/> contains an unescaped <c>*</c>, <c>?</c> or <c>[</c>.</summary>
    public static bool ContainsWildcard(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '`')
            {
                i++;
                continue;
            }
            if (c is '*' or '?' or '[')
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Escapes the wildcard characters (and backticks) of <paramref name="text"/> so it matches only itself.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '`')
            {
                sb.Append('`');
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Removes the escaping backticks: the literal text a pattern without wildcards stands for.</summary>
    public static string Unescape(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var sb = new StringBuilder(pattern.Length);
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '`' && i + 1 < pattern.Length)
            {
                i++;
            }
            sb.Append(pattern[i]);
        }
        return sb.ToString();
    }

    /// <summary>Returns whether <paramref name="text"/> matches any of <paramref name="patterns"/> (none given matches everything).</summary>
    public static bool MatchesAny(IEnumerable<string>? patterns, string text)
    {
        if (patterns == null)
        {
            return true;
        }
        bool any = false;
        foreach (string p in patterns)
        {
            any = true;
            if (new WildcardMatcher(p).IsMatch(text))
            {
                return true;
            }
        }
        return !any;
    }

    /// <summary>Returns whether the whole of <paramref name="text"/> matches the pattern, ignoring case.</summary>
    public bool IsMatch(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Iterative matching with one backtrack point per star: linear for the patterns people write.
        int t = 0;
        int p = 0;
        int starP = -1;
        int starT = 0;
        while (t < text.Length)
        {
            if (p < _tokens.Length && _tokens[p].Kind != TokenKind.Star && _tokens[p].Matches(text[t]))
            {
                t++;
                p++;
            }
            else if (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
            {
                starP = p++;
                starT = t;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }
        while (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
        {
            p++;
        }
        return p == _tokens.Length;
    }

    /// <inheritdoc />
    public override string ToString() => Pattern;

    private static Token[] Parse(string pattern)
    {
        var tokens = new List<Token>();
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                tokens.Add(Token.Literal(pattern[++i]));
            }
            else if (c == '*')
            {
                if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Star)
                {
                    tokens.Add(new Token(TokenKind.Star, null));
                }
            }
            else if (c == '?')
            {
                tokens.Add(new Token(TokenKind.Any, null));
            }
            else if (c == '[')
            {
                int close = -1;
                var set = new List<(char From, char To)>();
                for (int j = i + 1; j < pattern.Length; j++)
                {
                    char d = pattern[j];
                    if (d == '`' && j + 1 < pattern.Length)
                    {
                        d = pattern[++j];
                        set.Add((d, d));
                        continue;
                    }
                    if (d == ']' && set.Count > 0)
                    {
                        close = j;
                        break;
                    }
                    if (d == '-' && set.Count > 0 && j + 1 < pattern.Length && pattern[j + 1] != ']')
                    {
                        char to = pattern[++j];
                        if (to == '`' && j + 1 < pattern.Length)
                        {
                            to = pattern[++j];
                        }
                        (char from, _) = set[^1];
                        set[^1] = (from, to);
                        continue;
                    }
                    set.Add((d, d));
                }
                if (close < 0)
                {
                    throw new ArgumentException($"The wildcard pattern '{pattern}' is not valid: the '[' at position {i + 1} is not closed.", nameof(pattern));
                }
                tokens.Add(new Token(TokenKind.Set, set.ToArray()));
                i = close;
            }
            else
            {
                tokens.Add(Token.Literal(c));
            }
        }
        return tokens.ToArray();
    }

    private enum TokenKind
    {
        Literal,
        Any,
        Star,
        Set,
    }

    private readonly record struct Token(TokenKind Kind, (char From, char To)[]? Ranges)
    {
        public static Token Literal(char c) => new(TokenKind.Literal, new[] { (c, c) });

        public bool Matches(char c)
        {
            if (Kind == TokenKind.Any)
            {
                return true;
            }
            char lower = char.ToLowerInvariant(c);
            char upper = char.ToUpperInvariant(c);
            foreach ((char from, char to) in Ranges!)
            {
                if (InRange(c, from, to) || InRange(lower, from, to) || InRange(upper, from, to)
                    || InRange(c, char.ToLowerInvariant(from), char.ToLowerInvariant(to))
                    || InRange(c, char.ToUpperInvariant(from), char.ToUpperInvariant(to)))
                {
                    return true;
                }
            }
            return false;
        }

        private static bool InRange(char c, char from, char to) => c >= from && c <= to;
    }
}
