namespace StreamPipeline.Protocol;

/// <summary>Python's <c>int(str)</c> in base 10, for the strings agents cast: surrounding whitespace, a sign, digits with single underscores between them.</summary>
internal static class PythonInt
{
    public enum Result
    {
        Ok,
        Invalid,
        Overflow,
    }

    public static Result TryParse(string text, out long value)
    {
        value = 0;
        var s = text.AsSpan().Trim();
        var negative = false;
        if (!s.IsEmpty && s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.IsEmpty || s[0] == '_' || s[^1] == '_')
        {
            return Result.Invalid;
        }

        // Accumulate as a negative number so long.MinValue fits.
        long accumulated = 0;
        var previousUnderscore = false;
        foreach (var c in s)
        {
            if (c == '_')
            {
                if (previousUnderscore)
                {
                    return Result.Invalid;
                }

                previousUnderscore = true;
                continue;
            }

            if (!char.IsAsciiDigit(c))
            {
                return Result.Invalid;
            }

            previousUnderscore = false;
            if (accumulated < (long.MinValue + (c - '0')) / 10)
            {
                return Result.Overflow;
            }

            accumulated = (accumulated * 10) - (c - '0');
        }

        if (!negative && accumulated == long.MinValue)
        {
            return Result.Overflow;
        }

        value = negative ? accumulated : -accumulated;
        return Result.Ok;
    }
}
