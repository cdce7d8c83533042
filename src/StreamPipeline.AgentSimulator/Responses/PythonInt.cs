using System.Globalization;
using System.Text.Json;

namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// The agent's <c>int(value)</c> on a JSON value: an integer, or a string holding one (Python's rules: surrounding
/// whitespace, an optional sign, decimal digits, single underscores between digits). Everything else fails with
/// the message Python's ValueError/TypeError would carry.
/// </summary>
/// <remarks>
/// Deliberate difference from CPython, as decided for the backend's contract: JSON floats (<c>12.5</c>, <c>1.0</c>)
/// and booleans are rejected, where CPython would truncate them (<c>int(12.5) == 12</c>, <c>int(True) == 1</c>).
/// </remarks>
internal static class PythonInt
{
    public static bool TryCast(JsonElement value, out long result, out string error)
    {
        result = 0;
        error = string.Empty;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                var raw = value.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
                {
                    error = $"invalid literal for int() with base 10: '{raw}'";
                    return false;
                }

                if (!value.TryGetInt64(out result))
                {
                    error = $"int too large: {raw}";
                    return false;
                }

                return true;
            case JsonValueKind.String:
                return TryParse(value.GetString()!, out result, out error);
            case JsonValueKind.Undefined or JsonValueKind.Null:
                error = "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'";
                return false;
            case JsonValueKind.True or JsonValueKind.False:
                error = "int() argument must be a string, a bytes-like object or a real number, not 'bool'";
                return false;
            case JsonValueKind.Array:
                error = "int() argument must be a string, a bytes-like object or a real number, not 'list'";
                return false;
            default:
                error = "int() argument must be a string, a bytes-like object or a real number, not 'dict'";
                return false;
        }
    }

    /// <summary>Python's <c>int(str)</c> in base 10.</summary>
    public static bool TryParse(string text, out long result, out string error)
    {
        result = 0;
        error = string.Empty;
        var span = text.AsSpan();
        var start = 0;
        var end = span.Length;
        while (start < end && IsPythonSpace(span[start]))
        {
            start++;
        }

        while (end > start && IsPythonSpace(span[end - 1]))
        {
            end--;
        }

        var negative = false;
        if (start < end && (span[start] == '+' || span[start] == '-'))
        {
            negative = span[start] == '-';
            start++;
        }

        if (start >= end)
        {
            error = Invalid(text);
            return false;
        }

        ulong magnitude = 0;
        var previousWasDigit = false;
        for (var i = start; i < end; i++)
        {
            var c = span[i];
            if (c == '_')
            {
                // Underscores only between digits: not first, not last, never doubled.
                if (!previousWasDigit || i == end - 1)
                {
                    error = Invalid(text);
                    return false;
                }

                previousWasDigit = false;
                continue;
            }

            var digit = CharUnicodeInfo.GetDecimalDigitValue(c);
            if (digit < 0 || char.IsSurrogate(c))
            {
                error = Invalid(text);
                return false;
            }

            previousWasDigit = true;
            if (magnitude > (ulong.MaxValue - (ulong)digit) / 10)
            {
                error = $"int too large: '{text}'";
                return false;
            }

            magnitude = (magnitude * 10) + (ulong)digit;
        }

        if (magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue))
        {
            error = $"int too large: '{text}'";
            return false;
        }

        result = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }

    // str.strip() with no argument strips what str.isspace() calls space: .NET's white space plus the
    // four information separators U+001C..U+001F.
    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    private static string Invalid(string text) => $"invalid literal for int() with base 10: '{text}'";
}
