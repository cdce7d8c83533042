using System.Text;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>What the start of a request's SQL says about how to run it.</summary>
internal enum StatementKind
{
    /// <summary>Run the whole text as one statement.</summary>
    Query,

    /// <summary>An INSERT with inline data (<c>FORMAT X</c> or <c>VALUES</c>): stream the data into the engine.</summary>
    InsertWithData,

    /// <summary>The text so far ends before the decision: read more of the body.</summary>
    NeedMore,
}

/// <summary>An INSERT split as ClickHouse does: the statement without its FORMAT clause, the format, and where data starts.</summary>
internal readonly record struct InsertHead(int StatementLength, string Format, int DataStart);

/// <summary>
/// A small ClickHouse SQL scanner, just enough to find where an INSERT's inline data begins (which must never be parsed
/// as SQL: it may be binary), the output FORMAT clause of a query, and statements that change session state.
/// It skips string literals, quoted identifiers and comments, and tracks parentheses.
/// </summary>
internal static class SqlText
{
    private enum TokenKind
    {
        None,
        Word,
        Quoted,
        Symbol,
        Incomplete,
    }

    /// <summary>Classifies the statement that <paramref name="text"/> starts with.</summary>
    /// <param name="text">The query text: URL <c>query</c> parameter, a newline, then the start of the body.</param>
    /// <param name="isComplete">True when <paramref name="text"/> is everything (the body has ended).</param>
    public static StatementKind Analyze(ReadOnlySpan<byte> text, bool isComplete, out InsertHead head)
    {
        head = default;
        var position = 0;
        var kind = Next(text, ref position, out var start, out var end);
        if (kind == TokenKind.Incomplete || (kind == TokenKind.None && !isComplete))
        {
            return isComplete ? StatementKind.Query : StatementKind.NeedMore;
        }

        if (kind != TokenKind.Word || !Is(text, start, end, "INSERT"u8))
        {
            // A first word cut at the end of the buffer might still become INSERT.
            return !isComplete && end == text.Length ? StatementKind.NeedMore : StatementKind.Query;
        }

        var depth = 0;
        while (true)
        {
            kind = Next(text, ref position, out start, out end);
            switch (kind)
            {
                case TokenKind.None:
                    return isComplete ? StatementKind.Query : StatementKind.NeedMore;
                case TokenKind.Incomplete:
                    return isComplete ? StatementKind.Query : StatementKind.NeedMore;
                case TokenKind.Symbol when text[start] == (byte)'(':
                    depth++;
                    continue;
                case TokenKind.Symbol when text[start] == (byte)')':
                    depth--;
                    continue;
                case TokenKind.Symbol when text[start] == (byte)';':
                    return StatementKind.Query;
                case TokenKind.Word when depth == 0:
                    if (!isComplete && end == text.Length)
                    {
                        return StatementKind.NeedMore;
                    }

                    if (Is(text, start, end, "VALUES"u8))
                    {
                        head = new InsertHead(start, "Values", end);
                        return StatementKind.InsertWithData;
                    }

                    if (Is(text, start, end, "SELECT"u8) || Is(text, start, end, "WITH"u8) || Is(text, start, end, "FROM"u8))
                    {
                        return StatementKind.Query;
                    }

                    if (Is(text, start, end, "FORMAT"u8))
                    {
                        return AnalyzeFormat(text, isComplete, start, position, out head);
                    }

                    continue;
                default:
                    continue;
            }
        }
    }

    /// <summary>The name after the last top-level <c>FORMAT</c> keyword, if any (the query's own output format).</summary>
    public static string? FindFormatClause(ReadOnlySpan<byte> sql)
    {
        string? format = null;
        var position = 0;
        var depth = 0;
        while (true)
        {
            var kind = Next(sql, ref position, out var start, out var end);
            if (kind is TokenKind.None or TokenKind.Incomplete)
            {
                return format;
            }

            if (kind == TokenKind.Symbol)
            {
                depth += sql[start] switch { (byte)'(' => 1, (byte)')' => -1, _ => 0 };
                continue;
            }

            if (kind == TokenKind.Word && depth == 0 && Is(sql, start, end, "FORMAT"u8))
            {
                var next = Next(sql, ref position, out var nameStart, out var nameEnd);
                if (next is TokenKind.Word or TokenKind.Quoted)
                {
                    format = Encoding.UTF8.GetString(Unquote(sql, nameStart, nameEnd, next));
                }
            }
        }
    }

    /// <summary>True when a statement (the first, or one after a <c>;</c>) is SET or USE: it changes the connection's session.</summary>
    public static bool ChangesSession(ReadOnlySpan<byte> sql)
    {
        var position = 0;
        var atStatementStart = true;
        while (true)
        {
            var kind = Next(sql, ref position, out var start, out var end);
            if (kind is TokenKind.None or TokenKind.Incomplete)
            {
                return false;
            }

            if (atStatementStart && kind == TokenKind.Word && (Is(sql, start, end, "SET"u8) || Is(sql, start, end, "USE"u8)))
            {
                return true;
            }

            atStatementStart = kind == TokenKind.Symbol && sql[start] == (byte)';';
        }
    }

    /// <summary>True when the statement starts with SELECT, WITH or a parenthesis: chDB can stream its result.</summary>
    public static bool IsSelect(ReadOnlySpan<byte> sql)
    {
        var position = 0;
        var kind = Next(sql, ref position, out var start, out var end);
        return (kind == TokenKind.Word && (Is(sql, start, end, "SELECT"u8) || Is(sql, start, end, "WITH"u8)))
            || (kind == TokenKind.Symbol && sql[start] == (byte)'(');
    }

    private static StatementKind AnalyzeFormat(ReadOnlySpan<byte> text, bool isComplete, int formatKeywordStart, int position, out InsertHead head)
    {
        head = default;
        var kind = Next(text, ref position, out var start, out var end);
        if (kind is TokenKind.None or TokenKind.Incomplete || (!isComplete && end == text.Length))
        {
            return isComplete ? StatementKind.Query : StatementKind.NeedMore;
        }

        if (kind is not (TokenKind.Word or TokenKind.Quoted))
        {
            return StatementKind.Query;
        }

        var format = Encoding.UTF8.GetString(Unquote(text, start, end, kind));

        // ClickHouse (ParserInsertQuery): data starts after blanks and one line break, or right after the blanks.
        var data = end;
        while (data < text.Length && text[data] is (byte)' ' or (byte)'\t' or (byte)'\f')
        {
            data++;
        }

        if (data < text.Length && text[data] == (byte)'\r')
        {
            data++;
        }

        if (data < text.Length && text[data] == (byte)'\n')
        {
            data++;
        }
        else if (data == text.Length && !isComplete)
        {
            return StatementKind.NeedMore;
        }

        head = new InsertHead(formatKeywordStart, format, data);
        return StatementKind.InsertWithData;
    }

    private static ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> text, int start, int end, TokenKind kind) =>
        kind == TokenKind.Quoted && end - start >= 2 ? text[(start + 1)..(end - 1)] : text[start..end];

    private static bool Is(ReadOnlySpan<byte> text, int start, int end, ReadOnlySpan<byte> keyword)
    {
        if (end - start != keyword.Length)
        {
            return false;
        }

        for (var i = 0; i < keyword.Length; i++)
        {
            if ((text[start + i] | 0x20) != (keyword[i] | 0x20))
            {
                return false;
            }
        }

        return true;
    }

    private static TokenKind Next(ReadOnlySpan<byte> text, ref int position, out int start, out int end)
    {
        start = end = position;
        if (!SkipTrivia(text, ref position))
        {
            start = end = position;
            return TokenKind.Incomplete;
        }

        start = position;
        if (position >= text.Length)
        {
            end = position;
            return TokenKind.None;
        }

        var c = text[position];
        if (IsWordByte(c))
        {
            while (position < text.Length && IsWordByte(text[position]))
            {
                position++;
            }

            end = position;
            return TokenKind.Word;
        }

        if (c is (byte)'\'' or (byte)'"' or (byte)'`')
        {
            position++;
            while (position < text.Length)
            {
                var b = text[position];
                if (b == (byte)'\\')
                {
                    position += 2;
                    continue;
                }

                position++;
                if (b == c)
                {
                    if (position < text.Length && text[position] == c)
                    {
                        position++; // a doubled quote is an escaped quote
                        continue;
                    }

                    end = position;
                    return TokenKind.Quoted;
                }
            }

            position = text.Length;
            end = position;
            return TokenKind.Incomplete;
        }

        position++;
        end = position;
        return TokenKind.Symbol;
    }

    /// <summary>Skips blanks and comments; false when a block comment is not closed within the text.</summary>
    private static bool SkipTrivia(ReadOnlySpan<byte> text, ref int position)
    {
        while (position < text.Length)
        {
            var c = text[position];
            if (c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v')
            {
                position++;
            }
            else if (c == (byte)'-' && position + 1 < text.Length && text[position + 1] == (byte)'-')
            {
                var newline = text[position..].IndexOf((byte)'\n');
                position = newline < 0 ? text.Length : position + newline + 1;
            }
            else if (c == (byte)'/' && position + 1 < text.Length && text[position + 1] == (byte)'*')
            {
                var close = text[(position + 2)..].IndexOf("*/"u8);
                if (close < 0)
                {
                    position = text.Length;
                    return false;
                }

                position += close + 4;
            }
            else
            {
                break;
            }
        }

        return true;
    }

    private static bool IsWordByte(byte c) =>
        c is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'$' or >= 0x80;
}
