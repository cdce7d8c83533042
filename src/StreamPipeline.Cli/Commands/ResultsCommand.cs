using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Cli.Commands;

/// <summary><c>spctl results [--last N]</c>: the most recent command results, oldest first.</summary>
internal static class ResultsCommand
{
    public static async Task<int> RunAsync(CliSettings s, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var last = 20;
        if (s.Get("last") is { } text && (!int.TryParse(text, out last) || last is < 1 or > 100_000))
        {
            await stderr.WriteLineAsync($"spctl results: --last must be a number from 1 to 100000, got '{text}'");
            return Spctl.Usage;
        }

        var results = TopicReader.TailResults(s, last, ct).OrderBy(r => r.CompletedTime).ToList();
        foreach (var r in results.Skip(Math.Max(0, results.Count - last))) await stdout.WriteLineAsync(Line(r));
        return Spctl.Ok;
    }

    public static string Line(CommandResult r)
    {
        var detail = r.Error ?? r.ResponseJson ?? "";
        if (detail.Length > 80) detail = detail[..77] + "...";
        return $"{r.CompletedTime.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} {StatusName(r.Status),-8} {r.CommandId} {r.AgentId} {r.Action} {detail}";
    }

    public static string StatusName(CommandStatus status) => status.ToString().ToLowerInvariant();
}
