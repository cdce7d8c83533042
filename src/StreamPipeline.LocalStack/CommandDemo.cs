using System.Diagnostics;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
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
            var bootstrap = infra.Kafka.BootstrapServers;
            using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = infra.SchemaRegistry.Url.ToString() });

            // Consume on a dedicated thread (Consume blocks); it starts from the current end so the result cannot be missed.
            var kafka = new KafkaOptions { BootstrapServers = bootstrap, SchemaRegistryUrl = infra.SchemaRegistry.Url.ToString() };
            var consumerConfig = kafka.ConsumerConfig("command-demo-" + Guid.NewGuid().ToString("N"), "command-demo");
            consumerConfig.FetchWaitMaxMs = 10;
            using var results = new ConsumerBuilder<string, byte[]>(consumerConfig).Build();
            var partitions = PipelineTopics.All().Single(t => t.Name == PipelineTopics.CommandResults).Partitions;
            results.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(PipelineTopics.CommandResults, p,
                results.QueryWatermarkOffsets(new TopicPartition(PipelineTopics.CommandResults, p), TimeSpan.FromSeconds(10)).High)));

            var now = TimeProvider.System.GetUtcNow();
            var command = new AgentCommand(Guid.NewGuid().ToString(), agentId, Action, null, now + Deadline, now, "make-run-demo");
            var started = Stopwatch.GetTimestamp();
            using (var producer = new ProducerBuilder<string, AgentCommand>(kafka.ProducerConfig("command-demo"))
                       .SetValueSerializer(ContractSerdes.Serializer<AgentCommand>(registry, ContractCodec.ToRecord))
                       .Build())
            {
                await producer.ProduceAsync(PipelineTopics.Commands, new Message<string, AgentCommand> { Key = agentId, Value = command }, stop);
            }

            Console.WriteLine($"Command demo: sent {Action} to {agentId} through Kafka (command {command.CommandId}); waiting for its result on {PipelineTopics.CommandResults}");
            var avro = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();
            var until = Deadline + TimeSpan.FromSeconds(15);
            var result = await Task.Factory.StartNew(() =>
            {
                while (!stop.IsCancellationRequested && Stopwatch.GetElapsedTime(started) < until)
                {
                    var cr = results.Consume(TimeSpan.FromMilliseconds(100));
                    if (cr?.Message?.Value is null || cr.Message.Key != command.CommandId) continue;
                    return ContractCodec.ToCommandResult(avro.Deserialize(cr.Message.Value, false, new SerializationContext(MessageComponentType.Value, cr.Topic)));
                }

                return null;
            }, stop, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var elapsed = Stopwatch.GetElapsedTime(started);
            results.Close();

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
