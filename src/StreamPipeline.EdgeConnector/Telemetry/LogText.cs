using System.Text;

namespace StreamPipeline.EdgeConnector.Telemetry;

/// <summary>
/// Makes agent-supplied text safe to put in a log line: control characters (a newline would start a forged log line,
/// an ANSI escape would repaint a terminal) and the Unicode line and paragraph separators become <c>\uXXXX</c>, and the
/// text is cut at <see cref="MaxLength"/> characters. Clean text is returned as is, without allocating.
/// </summary>
internal static class LogText
{
    public const int MaxLength = 256;

    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var clean = text.Length <= MaxLength;
        for (var i = 0; clean && i < text.Length; i++) clean = !NeedsEscape(text[i]);
        if (clean) return text;

        var sb = new StringBuilder(Math.Min(text.Length, MaxLength) + 16);
        for (var i = 0; i < text.Length && i < MaxLength; i++)
        {
            var c = text[i];
            if (NeedsEscape(c)) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }

        if (text.Length > MaxLength) sb.Append("...(").Append(text.Length).Append(" chars)");
        return sb.ToString();
    }

    private static bool NeedsEscape(char c) => c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c is '\u2028' or '\u2029';
}
