using System.Text;

namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>
/// Grafana's template interpolation for the forms our panels use: <c>$name</c>, <c>${name}</c> and
/// <c>${name:singlequote}</c> (the value in single quotes, a quote inside escaped as <c>\'</c>, as Grafana does).
/// Grafana does this before the data source expands its <c>$__</c> macros, so <c>$__</c> names are left alone.
/// </summary>
internal static class GrafanaVariables
{
    /// <exception cref="FormatException">A variable without a value, or a format other than singlequote.</exception>
    public static string Interpolate(string sql, IReadOnlyDictionary<string, string> values)
    {
        var sb = new StringBuilder(sql.Length + 64);
        var i = 0;
        while (i < sql.Length)
        {
            if (sql[i] != '$' || i + 1 >= sql.Length || string.CompareOrdinal(sql, i, "$__", 0, 3) == 0)
            {
                sb.Append(sql[i++]);
                continue;
            }

            string name;
            string? format = null;
            int next;
            if (sql[i + 1] == '{')
            {
                var close = sql.IndexOf('}', i + 2);
                if (close < 0) throw new FormatException($"'${{' at offset {i} is never closed.");
                var inner = sql[(i + 2)..close];
                var colon = inner.IndexOf(':', StringComparison.Ordinal);
                name = colon < 0 ? inner : inner[..colon];
                format = colon < 0 ? null : inner[(colon + 1)..];
                next = close + 1;
            }
            else
            {
                var end = i + 1;
                while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_')) end++;
                if (end == i + 1)
                {
                    sb.Append(sql[i++]);
                    continue;
                }

                name = sql[(i + 1)..end];
                next = end;
            }

            if (!values.TryGetValue(name, out var value))
                throw new FormatException($"Variable ${name} has no value: the dashboard's templating must define it.");
            sb.Append(format switch
            {
                null => value,
                "singlequote" => "'" + value.Replace("'", "\\'", StringComparison.Ordinal) + "'",
                _ => throw new FormatException($"Variable format '{format}' of ${name} is not supported here: use ${{{name}}} or ${{{name}:singlequote}}."),
            });
            i = next;
        }

        return sb.ToString();
    }
}
