namespace StreamPipeline.Cli.Commands;

/// <summary><c>spctl agents</c>: the agents online now and the connector that holds each.</summary>
internal static class AgentsCommand
{
    public static async Task<int> RunAsync(CliSettings s, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var agents = TopicReader.OnlineAgents(s, ct);
        await stdout.WriteLineAsync($"{"AGENT",-24} {"CONNECTOR",-24} {"CONNECTED (UTC)",-20} REMOTE");
        foreach (var a in agents.Values.OrderBy(a => a.AgentId, StringComparer.Ordinal))
        {
            await stdout.WriteLineAsync($"{a.AgentId,-24} {a.ConnectorId,-24} {a.ConnectedTime.UtcDateTime:yyyy-MM-dd HH:mm:ss} {a.RemoteAddress}");
        }

        await stdout.WriteLineAsync($"{agents.Count} agents online");
        return Spctl.Ok;
    }
}
