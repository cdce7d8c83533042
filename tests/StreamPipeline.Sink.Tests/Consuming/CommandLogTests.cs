using System.Globalization;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

[Collection(SinkCollection.Name)]
public sealed class CommandLogTests(SinkFixture fixture)
{
    [Fact]
    public async Task Sink_CommandResultsFromConfluentSerializer_EveryFieldInCommandLog()
    {
        var topics = await fixture.CreateTopicsAsync("results", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("results");
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        CommandResult[] results =
        [
            new("cmd-1", "agent-001", "restart_service", 42, CommandStatus.Ok, "{\"restarted\":true}", null, "connector-0", now.AddSeconds(-5), now.AddSeconds(-4), now),
            new("cmd-2", "agent-002", "run_script", 43, CommandStatus.Timeout, null, "no answer within 30 s", "connector-1", now.AddSeconds(-40), now.AddSeconds(-39), now.AddSeconds(-9)),
            new("cmd-3", "agent-003", "bogus", null, CommandStatus.Rejected, null, "unknown action 'bogus'", null, now.AddSeconds(-1), null, now.AddSeconds(-1)),
        ];
        using (var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() }))
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            // Confluent's AvroSerializer registers Apache.Avro's own rendering of the schema: the sink must accept it.
            var serializer = ContractSerdes.Serializer<CommandResult>(registry, ContractCodec.ToRecord);
            foreach (var result in results)
            {
                var value = await serializer.SerializeAsync(result, new SerializationContext(MessageComponentType.Value, topics.CommandResults));
                await producer.ProduceAsync(topics.CommandResults, new Message<string, byte[]> { Key = result.CommandId, Value = value });
            }
        }

        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.command_log", (ulong)results.Length, TimeSpan.FromSeconds(60));
        }

        using var reader = await fixture.Client.ExecuteReaderAsync($"""
            SELECT command_id, agent_id, action, request_id, status, response_json, error, connector_id,
                   toUnixTimestamp64Milli(created_time), toUnixTimestamp64Milli(dispatched_time), toUnixTimestamp64Milli(completed_time)
            FROM {db}.command_log ORDER BY command_id
            """);
        foreach (var expected in results)
        {
            Assert.True(reader.Read());
            Assert.Equal(expected.CommandId, reader.GetString(0));
            Assert.Equal(expected.AgentId, reader.GetString(1));
            Assert.Equal(expected.Action, reader.GetString(2));
            Assert.Equal(expected.RequestId, reader.IsDBNull(3) ? null : Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture));
            Assert.Equal(expected.Status.ToString().ToUpperInvariant(), reader.GetString(4));
            Assert.Equal(expected.ResponseJson ?? "", reader.GetString(5));
            Assert.Equal(expected.Error ?? "", reader.GetString(6));
            Assert.Equal(expected.ConnectorId ?? "", reader.GetString(7));
            Assert.Equal(expected.CreatedTime.ToUnixTimeMilliseconds(), Convert.ToInt64(reader.GetValue(8), CultureInfo.InvariantCulture));
            Assert.Equal(expected.DispatchedTime?.ToUnixTimeMilliseconds(), reader.IsDBNull(9) ? null : Convert.ToInt64(reader.GetValue(9), CultureInfo.InvariantCulture));
            Assert.Equal(expected.CompletedTime.ToUnixTimeMilliseconds(), Convert.ToInt64(reader.GetValue(10), CultureInfo.InvariantCulture));
        }

        Assert.False(reader.Read());
    }
}
