using System.Globalization;
using System.Text;

namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>The time range and interval a panel query runs for, as Grafana passes them to the data source.</summary>
/// <param name="From">Start of the dashboard's time range.</param>
/// <param name="To">End of the dashboard's time range.</param>
/// <param name="Interval">The panel's interval (<see cref="GrafanaMacros.PanelInterval"/>).</param>
internal readonly record struct QueryTime(DateTimeOffset From, DateTimeOffset To, TimeSpan Interval);

/// <summary>
/// The grafana-clickhouse-datasource plugin's SQL macros, expanded to the same text as the plugin's backend
/// (<c>pkg/macros/macros.go</c>): our panels' SQL runs through this in the fleet page and in the tests, so what we test
/// is what Grafana sends. A macro the plugin has but we do not use fails loudly instead of passing through unexpanded.
/// </summary>
internal static class GrafanaMacros
{
    /// <summary>Expands every <c>$__macro</c> and <c>$__macro(args)</c> outside string literals.</summary>
    /// <exception cref="FormatException">An unknown macro, a wrong argument count, or an unclosed argument list.</exception>
    public static string Expand(string sql, QueryTime time)
    {
        var sb = new StringBuilder(sql.Length + 128);
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '\'')
            {
                var end = SkipString(sql, i);
                sb.Append(sql, i, end - i);
                i = end;
                continue;
            }

            if (c == '$' && string.CompareOrdinal(sql, i, "$__", 0, 3) == 0)
            {
                var nameStart = i + 3;
                var nameEnd = nameStart;
                while (nameEnd < sql.Length && (char.IsAsciiLetterOrDigit(sql[nameEnd]) || sql[nameEnd] == '_')) nameEnd++;
                var name = sql[nameStart..nameEnd];
                List<string>? args = null;
                var next = nameEnd;
                if (next < sql.Length && sql[next] == '(')
                {
                    args = ReadArguments(sql, next, out next);
                }

                sb.Append(ExpandOne(name, args ?? [], time));
                i = next;
                continue;
            }

            sb.Append(c);
            i++;
        }

        return sb.ToString();
    }

    /// <summary>
    /// Grafana's panel interval: the range divided by the panel's max data points, rounded to Grafana's steps
    /// (<c>rangeutil.roundInterval</c>), and never below the panel's minimum interval.
    /// </summary>
    public static TimeSpan PanelInterval(DateTimeOffset from, DateTimeOffset to, int maxDataPoints, TimeSpan minInterval)
    {
        var raw = (to - from).TotalMilliseconds / Math.Max(1, maxDataPoints);
        var rounded = TimeSpan.FromMilliseconds(RoundInterval(raw));
        return rounded < minInterval ? minInterval : rounded;
    }

    /// <summary>Parses Grafana's interval notation (<c>10s</c>, <c>1m</c>, <c>1h</c>, <c>1d</c>, <c>500ms</c>).</summary>
    public static TimeSpan ParseInterval(string text)
    {
        var unitStart = 0;
        while (unitStart < text.Length && char.IsAsciiDigit(text[unitStart])) unitStart++;
        if (unitStart == 0 || !long.TryParse(text.AsSpan(0, unitStart), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            throw new FormatException($"'{text}' is not a Grafana interval such as 10s, 1m or 1h.");
        return text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            "w" => TimeSpan.FromDays(7 * n),
            _ => throw new FormatException($"'{text}' has an unknown unit: use ms, s, m, h, d or w."),
        };
    }

    private static double RoundInterval(double ms) => ms switch
    {
        < 15 => 10,
        < 35 => 20,
        < 75 => 50,
        < 150 => 100,
        < 350 => 200,
        < 750 => 500,
        < 1500 => 1000,
        < 3500 => 2000,
        < 7500 => 5000,
        < 12500 => 10000,
        < 17500 => 15000,
        < 25000 => 20000,
        < 45000 => 30000,
        < 90000 => 60000,
        < 210000 => 120000,
        < 450000 => 300000,
        < 750000 => 600000,
        < 1050000 => 900000,
        < 1500000 => 1200000,
        < 2700000 => 1800000,
        < 5400000 => 3600000,
        < 9000000 => 7200000,
        < 16200000 => 10800000,
        < 32400000 => 21600000,
        < 86400000 => 43200000,
        < 604800000 => 86400000,
        < 1814400000 => 604800000,
        < 3628800000 => 2592000000,
        _ => 31536000000,
    };

    private static string ExpandOne(string name, List<string> args, QueryTime time)
    {
        var from = time.From.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var to = time.To.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var fromMs = time.From.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var toMs = time.To.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var seconds = ((long)Math.Max(time.Interval.TotalSeconds, 1)).ToString(CultureInfo.InvariantCulture);
        var millis = ((long)Math.Max(time.Interval.TotalMilliseconds, 1)).ToString(CultureInfo.InvariantCulture);
        return name switch
        {
            "fromTime" => $"toDateTime({from})",
            "toTime" => $"toDateTime({to})",
            "fromTime_ms" => $"fromUnixTimestamp64Milli({fromMs})",
            "toTime_ms" => $"fromUnixTimestamp64Milli({toMs})",
            "timeFilter" => One(name, args, col => $"{col} >= toDateTime({from}) AND {col} <= toDateTime({to})"),
            "timeFilter_ms" => One(name, args, col => $"{col} >= fromUnixTimestamp64Milli({fromMs}) AND {col} <= fromUnixTimestamp64Milli({toMs})"),
            "dateFilter" => One(name, args, col => $"{col} >= toDate('{time.From.UtcDateTime:yyyy-MM-dd}') AND {col} <= toDate('{time.To.UtcDateTime:yyyy-MM-dd}')"),
            "timeInterval" => One(name, args, col => $"toStartOfInterval(toDateTime({col}), INTERVAL {seconds} second)"),
            "timeInterval_ms" => One(name, args, col => $"toStartOfInterval(toDateTime64({col}, 3), INTERVAL {millis} millisecond)"),
            "interval_s" => seconds,
            _ => throw new FormatException($"Macro $__{name} is not one the fleet page expands (use $__timeFilter, $__timeFilter_ms, $__dateFilter, $__fromTime, $__toTime, $__fromTime_ms, $__toTime_ms, $__timeInterval, $__timeInterval_ms or $__interval_s)."),
        };
    }

    private static string One(string name, List<string> args, Func<string, string> expand) =>
        args.Count == 1 ? expand(args[0]) : throw new FormatException($"$__{name} expects 1 argument, got {args.Count}.");

    private static int SkipString(string sql, int start)
    {
        var i = start + 1;
        while (i < sql.Length)
        {
            if (sql[i] == '\\') { i += 2; continue; }
            if (sql[i] == '\'') return i + 1;
            i++;
        }

        return sql.Length;
    }

    private static List<string> ReadArguments(string sql, int open, out int next)
    {
        var args = new List<string>();
        var depth = 0;
        var start = open + 1;
        for (var i = open; i < sql.Length; i++)
        {
            var c = sql[i];
            if (c == '\'') { i = SkipString(sql, i) - 1; continue; }
            if (c == '(') depth++;
            else if (c == ')' && --depth == 0)
            {
                var last = sql[start..i].Trim();
                if (last.Length > 0 || args.Count > 0) args.Add(last);
                next = i + 1;
                return args;
            }
            else if (c == ',' && depth == 1)
            {
                args.Add(sql[start..i].Trim());
                start = i + 1;
            }
        }

        throw new FormatException($"Macro arguments opened at offset {open} are never closed.");
    }
}
