using System.Text;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.Kafka.Commands;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Cli.Commands;

/// <summary>
/// <c>spctl send</c>: validates the command locally (the dispatcher's own validator), warns when the agent is not
/// online, produces it to the commands topic and, with <c>--wait</c>, reads the results topic from its current end
/// until the command's result comes. This is also the reference code path of docs/commands.md.
/// </summary>
internal static class SendCommand
{
    public static async Task<int> RunAsync(CliSettings s, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var agent = s.Get("agent");
        var action = s.Get("action");
        if (string.IsNullOrWhiteSpace(agent) || string.IsNullOrWhiteSpace(action))
        {
            await stderr.WriteLineAsync("spctl send: --agent and --action are required, e.g. spctl send --agent web-01 --action get-process --payload '{\"pid\":1234}' --wait");
            return Spctl.Usage;
        }

        var payload = s.Get("payload");
        if (!CommandValidator.TryValidate(action, payload is null ? [] : Encoding.UTF8.GetBytes(payload), out _, out var invalid))
        {
            await stderr.WriteLineAsync($"spctl send: refused before sending: {invalid.Message}");
            return Spctl.Usage;
        }

        var deadlineIn = TimeSpan.FromMinutes(5);
        if (s.Get("deadline") is { } d && (!CliSettings.TryParseDuration(d, out deadlineIn) || deadlineIn <= TimeSpan.Zero))
        {
            await stderr.WriteLineAsync($"spctl send: --deadline must be a positive duration such as 30s, 5m or 1h, got '{d}'");
            return Spctl.Usage;
        }

        var waitLimit = deadlineIn + CommandActions.DefaultTimeouts[action] + TimeSpan.FromSeconds(5);
        if (s.Get("wait-timeout") is { } w && (!CliSettings.TryParseDuration(w, out waitLimit) || waitLimit <= TimeSpan.Zero))
        {
            await stderr.WriteLineAsync($"spctl send: --wait-timeout must be a positive duration such as 90s, got '{w}'");
            return Spctl.Usage;
        }

        var online = TopicReader.OnlineAgents(s, ct);
        if (!online.TryGetValue(agent, out var where))
        {
            await stderr.WriteLineAsync($"spctl send: warning: agent '{agent}' is not online (no live session in {s.PresenceTopic}); the command waits until it connects or expires at its deadline ({deadlineIn}). See 'spctl agents'.");
        }

        var now = TimeProvider.System.GetUtcNow();
        var command = new AgentCommand(Guid.NewGuid().ToString(), agent, action, payload, now + deadlineIn, now, s.Get("requested-by") ?? Environment.UserName);
        // With --wait, the results topic's end is noted before sending, so the result cannot slip in before we look.
        using var client = CommandClient.Open(s.Kafka, "spctl", s.CommandsTopic, s.Has("wait") ? s.ResultsTopic : null);
        var delivered = await client.SendAsync(command, ct);
        await stdout.WriteLineAsync($"sent command {command.CommandId} ({action}) to agent {agent}{(where is null ? "" : $" on {where.ConnectorId}")} [{delivered}]");
        if (!s.Has("wait")) return Spctl.Ok;

        if (await client.WaitForResultAsync(command.CommandId, waitLimit, ct) is { } result)
        {
            await PrintAsync(stdout, result);
            return result.Status == CommandStatus.Ok ? Spctl.Ok : Spctl.NotOk;
        }

        await stderr.WriteLineAsync(
            $"spctl send: no result for command {command.CommandId} within {waitLimit.TotalSeconds:0} s (deadline {command.Deadline:O}). " +
            "Is a dispatcher running and reading " + s.CommandsTopic + "? The command may still complete: look for it with 'spctl results'.");
        return Spctl.NoResult;
    }

    private static async Task PrintAsync(TextWriter o, CommandResult r)
    {
        await o.WriteLineAsync($"command   {r.CommandId}");
        await o.WriteLineAsync($"status    {ResultsCommand.StatusName(r.Status)}");
        await o.WriteLineAsync($"agent     {r.AgentId}  action {r.Action}  request id {r.RequestId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}  connector {r.ConnectorId ?? "-"}");
        await o.WriteLineAsync($"latency   {(r.CompletedTime - r.CreatedTime).TotalMilliseconds:0} ms");
        if (r.Error is not null) await o.WriteLineAsync($"error     {r.Error}");
        if (r.ResponseJson is not null) await o.WriteLineAsync($"response  {r.ResponseJson}");
    }
}
