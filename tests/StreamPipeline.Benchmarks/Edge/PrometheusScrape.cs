using System.Globalization;

namespace StreamPipeline.Benchmarks.Edge;

/// <summary>Reads counters, gauges and histogram buckets from a Prometheus text page.</summary>
internal sealed class PrometheusScrape(string text)
{
    public static async Task<PrometheusScrape> FetchAsync(HttpClient http, Uri metrics)
    {
        try { return new PrometheusScrape(await http.GetStringAsync(metrics)); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return new PrometheusScrape(""); }
    }

    /// <summary>Sum of all series of a metric whose name starts with <paramref name="name"/> (labels ignored).</summary>
    public double Sum(string name)
    {
        double total = 0;
        foreach (var line in Lines())
        {
            if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length > 0 && rest[0] != ' ' && rest[0] != '{') continue;
            total += Value(line);
        }

        return total;
    }

    /// <summary>Cumulative bucket counts of a histogram, by upper bound.</summary>
    public SortedDictionary<double, double> Buckets(string histogram)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in Lines())
        {
            if (!line.StartsWith(histogram, StringComparison.Ordinal) || !line.Contains("_bucket{", StringComparison.Ordinal)) continue;
            var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..];
            le = le[..le.IndexOf('"', StringComparison.Ordinal)];
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + Value(line);
        }

        return buckets;
    }

    /// <summary>The upper bound of the bucket holding quantile <paramref name="q"/> of the observations between two scrapes.</summary>
    public static double Quantile(SortedDictionary<double, double> before, SortedDictionary<double, double> after, double q)
    {
        var total = after.Count == 0 ? 0 : after.Last().Value - before.GetValueOrDefault(after.Last().Key);
        if (total <= 0) return double.NaN;
        foreach (var (bound, cumulative) in after)
        {
            if (cumulative - before.GetValueOrDefault(bound) >= q * total) return bound;
        }

        return double.PositiveInfinity;
    }

    public static double Count(SortedDictionary<double, double> before, SortedDictionary<double, double> after) =>
        after.Count == 0 ? 0 : after.Last().Value - before.GetValueOrDefault(after.Last().Key);

    private IEnumerable<string> Lines() => text.Split('\n').Where(l => l.Length > 0 && l[0] != '#');

    private static double Value(string line) =>
        double.Parse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
}
