namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>How chunks of a streaming chDB query can be joined into one response.</summary>
internal enum Framing
{
    /// <summary>Row formats without prefix or suffix: chunks concatenate.</summary>
    Concatenate,

    /// <summary>
    /// Formats with a header (<c>*WithNames</c>, <c>*WithNamesAndTypes</c>): chDB repeats the header in every chunk,
    /// so later chunks are sent without it.
    /// </summary>
    StripRepeatedHeader,

    /// <summary>Formats with a document structure (JSON, XML, Parquet, Pretty...): run the query whole.</summary>
    WholeResult,
}

/// <summary>
/// chDB's streaming query formats each chunk as a complete output (checked: RowBinaryWithNamesAndTypes, TSVWithNames,
/// JSON and Parquet all start over in every chunk), so only some formats may be streamed as they come.
/// </summary>
internal static class ResultFraming
{
    private static readonly HashSet<string> Concatenable = new(StringComparer.OrdinalIgnoreCase)
    {
        "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "Raw", "CSV", "JSONEachRow", "JSONLines", "NDJSON", "JSONCompactEachRow",
        "JSONStringsEachRow", "JSONCompactStringsEachRow", "RowBinary", "Values", "LineAsString", "Native", "CustomSeparated",
        "JSONObjectEachRow", "TSKV", "BSONEachRow", "MsgPack",
    };

    public static Framing Of(string format)
    {
        if (Concatenable.Contains(format))
        {
            return Framing.Concatenate;
        }

        var baseFormat = format.EndsWith("WithNamesAndTypes", StringComparison.OrdinalIgnoreCase) ? format[..^"WithNamesAndTypes".Length]
            : format.EndsWith("WithNames", StringComparison.OrdinalIgnoreCase) ? format[..^"WithNames".Length]
            : null;
        return baseFormat is not null && Concatenable.Contains(baseFormat) ? Framing.StripRepeatedHeader : Framing.WholeResult;
    }

    /// <summary>The length of the header at the start of <paramref name="chunk"/>, or -1 when it cannot be told.</summary>
    public static int HeaderLength(string format, ReadOnlySpan<byte> chunk)
    {
        var withTypes = format.EndsWith("WithNamesAndTypes", StringComparison.OrdinalIgnoreCase);
        if (format.StartsWith("RowBinary", StringComparison.OrdinalIgnoreCase))
        {
            var position = 0;
            if (!TryReadVarUInt(chunk, ref position, out var columns))
            {
                return -1;
            }

            var strings = columns * (withTypes ? 2UL : 1UL);
            for (var i = 0UL; i < strings; i++)
            {
                if (!TryReadVarUInt(chunk, ref position, out var length) || length > (ulong)(chunk.Length - position))
                {
                    return -1;
                }

                position += (int)length;
            }

            return position;
        }

        var lines = withTypes ? 2 : 1;
        var end = 0;
        for (var i = 0; i < lines; i++)
        {
            var newline = chunk[end..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return -1;
            }

            end += newline + 1;
        }

        return end;
    }

    private static bool TryReadVarUInt(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }
}
