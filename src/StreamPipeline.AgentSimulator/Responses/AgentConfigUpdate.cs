using System.Text.Json;

namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// A validated <c>update-agent-config</c> payload: <c>metricsInterval</c> an integer 0..3600 (JSON integer, not a
/// float, string or boolean), <c>watchlist</c> a list of strings. Each key is optional; an invalid one rejects the
/// whole update and nothing is applied.
/// </summary>
internal sealed record AgentConfigUpdate(int? MetricsIntervalSeconds, IReadOnlyList<string>? Watchlist)
{
    public const int MaxMetricsIntervalSeconds = 3600;

    public static bool TryParse(JsonElement payload, out AgentConfigUpdate? update, out string error)
    {
        update = null;
        error = string.Empty;
        if (payload.ValueKind != JsonValueKind.Object)
        {
            error = "payload must be an object with metricsInterval and/or watchlist";
            return false;
        }

        int? interval = null;
        if (payload.TryGetProperty("metricsInterval", out var intervalElement))
        {
            if (intervalElement.ValueKind != JsonValueKind.Number
                || intervalElement.GetRawText().AsSpan().IndexOfAny('.', 'e', 'E') >= 0
                || !intervalElement.TryGetInt64(out var seconds)
                || seconds is < 0 or > MaxMetricsIntervalSeconds)
            {
                error = $"metricsInterval must be an integer between 0 and {MaxMetricsIntervalSeconds}, got {intervalElement.GetRawText()}";
                return false;
            }

            interval = (int)seconds;
        }

        List<string>? watchlist = null;
        if (payload.TryGetProperty("watchlist", out var watchElement))
        {
            if (watchElement.ValueKind != JsonValueKind.Array)
            {
                error = $"watchlist must be a list of strings, got {watchElement.ValueKind.ToString().ToLowerInvariant()}";
                return false;
            }

            watchlist = new List<string>(watchElement.GetArrayLength());
            foreach (var item in watchElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    error = $"watchlist must be a list of strings, found {item.GetRawText()}";
                    return false;
                }

                watchlist.Add(item.GetString()!);
            }
        }

        update = new AgentConfigUpdate(interval, watchlist);
        return true;
    }
}
