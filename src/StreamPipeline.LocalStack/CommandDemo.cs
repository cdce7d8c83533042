using System.Diagnostics;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using StreamPipeline.Kafka.Commands;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.LocalStack;

/// <summary>
/// Shows a command round trip once the simulated fleet is up: sends <c>get-server-info</c> to the first simulated agent
/// through Kafka exactly as another system would (Confluent.Kafka, Avro through the Schema Registry; docs/commands.md)
/// and prints its one result from <c>command-results</c>.
/// </summary>
internal static class CommandDemo
{
    private const string Action = "get-server-info";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Runs in the background of <c>make run</c>; never throws (a failure is printed, the pipeline keeps running).</summary>
    public static async Task RunAsync(EmbeddedInfrastructure infra, PipelineServices services, CancellationToken stop)
    {
        if (services.Fleet is not { } fleet) return;
        try
        {
            await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromMinutes(2), stop);
            var agentId = fleet.Agents[0].AgentId;
            // The results topic's end is noted when the client opens, so the result cannot be missed.
            using var client = CommandClient.Open(new KafkaOptions { BootstrapServers = infra.Kafka.BootstrapServers, SchemaRegistryUrl = infra.SchemaRegistry.Url.ToString() },
                "command-demo", resultsFetchWait: TimeSpan.FromMilliseconds(10));
            var now = TimeProvider.System.GetUtcNow();
            var command = new AgentCommand(Guid.NewGuid().ToString(), agentId, Action, null, now + Deadline, now, "make-run-demo");
            var started = Stopwatch.GetTimestamp();
            await client.SendAsync(command, stop);
            Console.WriteLine($"Command demo: sent {Action} to {agentId} through Kafka (command {command.CommandId}); waiting for its result on {PipelineTopics.CommandResults}");
            var until = Deadline + TimeSpan.FromSeconds(15);
            var result = await client.WaitForResultAsync(command.CommandId, until, stop);
            var elapsed = Stopwatch.GetElapsedTime(started);

            if (result is null)
            {
                if (!stop.IsCancellationRequested) Console.WriteLine($"Command demo: no result for {Action} on {agentId} within {until.TotalSeconds:0} s; see the dispatcher's log and /readyz on port 9103");
                return;
            }

            var answer = result.ResponseJson ?? result.Error ?? "";
            if (answer.Length > 160) answer = answer[..157] + "...";
            Console.WriteLine($"Command demo: {Action} -> {result.AgentId}: {result.Status.ToString().ToUpperInvariant()} in {elapsed.TotalMilliseconds:0} ms " +
                              $"(request id {result.RequestId}, via {result.ConnectorId}): {answer}");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is KafkaException or SchemaRegistryException or HttpRequestException or TimeoutException or InvalidOperationException)
        {
            Console.WriteLine($"Command demo failed: {e.Message}");
        }
        catch (ObjectDisposedException) when (stop.IsCancellationRequested)
        {
            // Ctrl-C while it ran: the infrastructure went away underneath it.
        }
    }
}
