using System.Globalization;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.LocalStack.FleetPage;
using StreamPipeline.Sink.Hosting;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;

namespace StreamPipeline.LocalStack.Tests.Dashboards;

/// <summary>
/// "Dead letters by reason" with real dead letters (issue 13: nothing wrote <c>dead_letters</c>, so the panel was
/// always empty): an agent sending wrong types through the real connector, and a record the sink cannot decode, end
/// up as rows, and the panel's own SQL, expanded as Grafana expands it, returns them.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DeadLetterPanelTests(DashboardFixture fixture)
{
    private const string SessionTimeoutMs = "6000";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task DeadLettersPanel_BadFramesThroughConnectorAndUndecodableRecord_ReturnsThemByReason()
    {
        var db = "dlq_panel_" + Guid.NewGuid().ToString("N")[..8];
        using var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 1 });
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        foreach (var (topic, partitions) in new[] { ("m", 2), ("p", 1), ("connector-dlq", 1), ("sink-dlq", 1), (PipelineTopics.ConnectorRequests, 6) })
        {
            kafka.CreateTopic(topic, partitions);
        }

        await using (var connector = await ConnectorHost.StartAsync(kafka.BootstrapServers, registry.Url, agents: 2, connectorId: "edge-panel", settings: new Dictionary<string, string?>
                     {
                         ["EdgeConnector:MetricsTopic"] = "m",
                         ["EdgeConnector:PresenceTopic"] = "p",
                         ["EdgeConnector:DeadLetterTopic"] = "connector-dlq",
                         ["Kafka:Client:session.timeout.ms"] = SessionTimeoutMs,
                     }))
        await using (await StartSinkAsync(new()
                     {
                         ["ClickHouse:ConnectionString"] = fixture.ConnectionString,
                         ["Sink:GroupId"] = db,
                         ["Sink:Database"] = db,
                         ["Sink:MetricsTopic"] = "m",
                         ["Sink:PresenceTopic"] = "p",
                         ["Sink:CommandResultsTopic"] = "",
                         ["Sink:ConnectorDeadLetterTopic"] = "connector-dlq",
                         ["Sink:DeadLetterTopic"] = "sink-dlq",
                         ["Sink:CreateDeadLetterTopic"] = "false",
                         ["Sink:BatchMaxDelay"] = "00:00:00.200",
                         ["Sink:OpsAddress"] = "127.0.0.1",
                         ["Sink:OpsPort"] = "0",
                     }, kafka, registry))
        {
            await using (var fleet = SimulatedFleet.Start(new SimulatorOptions
            {
                ServerUrl = connector.AgentUrl,
                TrustedCertificatePath = connector.CertificatePath,
                AgentCount = 2,
                TokenSeed = connector.TokenSeed,
                MetricsInterval = TimeSpan.FromMilliseconds(250),
                // One of the two sends cpuUsagePercent and uptimeSeconds as strings: the connector refuses every frame.
                Misbehaviour = AgentMisbehaviour.WrongTypes,
                MisbehaviourFraction = 0.5,
            }))
            {
                await Eventually.ReturnsAsync(
                    () => Count($"SELECT count() FROM {db}.dead_letters WHERE stage = 'connector' AND reason = 'wrong_type'"), n => n >= 3, Deadline, "3 refused frames indexed");
                await Eventually.ReturnsAsync(() => Count($"SELECT count() FROM {db}.metrics_samples"), n => n >= 3, Deadline, "the good agent's samples loaded");
                await fleet.StopAsync();
            }

            using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
            {
                await producer.ProduceAsync("m", new Message<string, byte[]> { Key = "sim-000009", Value = "not avro"u8.ToArray() });
            }

            await Eventually.ReturnsAsync(
                () => Count($"SELECT count() FROM {db}.dead_letters WHERE stage = 'sink' AND reason = 'bad_magic_byte' AND agent_id = 'sim-000009'"), n => n == 1, Deadline, "the undecodable record indexed");
        }

        // The rows say who and which connector, and nothing of the frames themselves.
        var bad = (await fixture.Queries.QueryAsync($"SELECT DISTINCT agent_id, connector_id, dead_letter_topic FROM {db}.dead_letters WHERE stage = 'connector'", CancellationToken.None)).Rows;
        var only = Assert.Single(bad);
        Assert.StartsWith("sim-00000", only[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("edge-panel", only[1].GetString());
        Assert.Equal("connector-dlq", only[2].GetString());

        // The panel, as Grafana runs it over the last 15 minutes: every dead letter of the table, by reason.
        var panel = fixture.Catalog.Panel("streampipeline-pipeline", 3);
        var to = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var variables = new Dictionary<string, string>(fixture.Catalog.Defaults(panel.DashboardUid)) { ["database"] = db };
        var answer = await fixture.Queries.QueryAsync(panel.Sql(to.AddMinutes(-15), to, variables), CancellationToken.None);
        var shown = answer.Rows.GroupBy(r => r[answer.Column("reason")].GetString()!).ToDictionary(g => g.Key, g => g.Sum(r => r[answer.Column("letters")].GetDouble()));
        var truth = (await fixture.Queries.QueryAsync($"SELECT reason, count() FROM {db}.dead_letters GROUP BY reason", CancellationToken.None)).Rows
            .ToDictionary(r => r[0].GetString()!, r => r[1].GetDouble());
        Assert.Equal(["bad_magic_byte", "wrong_type"], truth.Keys.Order().ToArray());
        Assert.Equal(truth.OrderBy(kv => kv.Key).ToArray(), shown.OrderBy(kv => kv.Key).ToArray());
        Assert.Equal(1d, shown["bad_magic_byte"]);
        Assert.True(shown["wrong_type"] >= 3, $"wrong_type: {shown["wrong_type"]}");
    }

    private async Task<ulong> Count(string sql) => Convert.ToUInt64(await fixture.Client.ExecuteScalarAsync(sql), CultureInfo.InvariantCulture);

    private static int Port(WebApplication app, string scheme) =>
        new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => a.StartsWith(scheme + ":", StringComparison.Ordinal))).Port;

    /// <summary>The sink as its Program.cs builds it, on the test's Kafka, registry and settings; ready when /readyz says so.</summary>
    private static async Task<Stoppable> StartSinkAsync(Dictionary<string, string?> settings, EmbeddedKafkaCluster kafka, EmbeddedSchemaRegistry registry)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        settings["Kafka:BootstrapServers"] = kafka.BootstrapServers;
        settings["Kafka:SchemaRegistryUrl"] = registry.Url.ToString();
        settings["Kafka:Client:session.timeout.ms"] = SessionTimeoutMs;
        settings["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSink();
        var app = builder.Build();
        app.MapSink();
        await app.StartAsync();
        var ops = new Uri($"http://127.0.0.1:{Port(app, "http")}/readyz");
        using var http = new HttpClient();
        await Eventually.ReturnsAsync(async () =>
        {
            try { return (await http.GetAsync(ops)).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, ok => ok, Deadline, $"{ops} to answer 200");
        return new Stoppable(app);
    }

    private sealed class Stoppable(WebApplication app) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
