using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Dispatcher.Hosting;
using StreamPipeline.EdgeConnector.Tls;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Testing.EdgeConnector;

namespace StreamPipeline.Benchmarks.Commands;

/// <summary>
/// Command-to-result latency through the whole pipeline (another system produces an <c>AgentCommand</c> to Kafka; the
/// dispatcher, an edge connector and a simulated agent over wss do the rest; the result is read back from
/// <c>command-results</c>), at fixed open-loop rates across 1,000 simulated agents, beside the floor: the same simulator
/// answering the same request sent straight down its WebSocket by a minimal wss server, in the same run.
/// Agent work is excluded (<c>ResponseDelay</c> 0). Everything runs in this process on the embedded Kafka and registry.
/// <c>dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- command-latency [--agents 1000] [--rates 1,100,1000] [--seconds 30,20,20] [--metrics-interval 5] [--fetch-wait-ms 500,5]</c>
/// </summary>
internal sealed class CommandLatencyHarness : IHarness
{
    private const string TokenSeed = "command-latency";

    public string Name => "command-latency";

    public string Description => "Command-to-result latency p50/p99 at fixed rates across simulated agents, beside a direct WebSocket round trip";

    public IReadOnlyList<HarnessOption> Options { get; } =
    [
        HarnessOption.Number("--agents", 1000, "simulated agents"),
        HarnessOption.Numbers("--rates", [1, 100, 1000], "commands/s of each phase"),
        HarnessOption.Numbers("--seconds", [30, 20, 20], "duration of each phase, one per rate"),
        HarnessOption.Number("--metrics-interval", 5, "seconds between metrics events of each agent"),
        HarnessOption.Numbers("--fetch-wait-ms", [500, 5], "consumer fetch.wait.max.ms values to compare"),
    ];

    public async Task<int> RunAsync(HarnessArguments args)
    {
        var agents = args.Number("--agents");
        var rates = args.Numbers("--rates");
        var seconds = args.Numbers("--seconds");
        var metricsInterval = TimeSpan.FromSeconds(args.Number("--metrics-interval"));
        // librdkafka's default fetch.wait.max.ms (500), and 5 ms: the embedded mock broker never cuts a fetch's wait short
        // when data arrives (a real broker answers at once), so on the mock every consumer hop can cost up to the wait.
        var fetchWaits = args.Numbers("--fetch-wait-ms");
        if (seconds.Length != rates.Length)
        {
            Console.Error.WriteLine("--seconds needs one duration per rate in --rates");
            return 2;
        }

        using var files = ConnectorFiles.Create(agents, TokenSeed, "sp-command-latency-");
        var certificate = files.CertificatePath;
        var key = files.KeyPath;
        // The floor's server presents the connector's certificate before any connector has started.
        DevelopmentCertificate.EnsureExists(certificate, key);
        var agentIds = Enumerable.Range(1, agents).Select(i => SimulatedFleet.AgentIdFor("sim-", i)).ToArray();
        Console.WriteLine($"{agents} agents, rates {string.Join(", ", rates)} commands/s for {string.Join(", ", seconds)} s, metrics every {metricsInterval.TotalSeconds} s; {Environment.ProcessorCount} cores, load {LoadAverage()}");

        var floor = new List<Phase>();

        // 1. The floor: the simulator answering straight down its WebSocket.
        await using (var server = await DirectWebSocketFloor.StartAsync(certificate, key))
        {
            var fleet = await StartFleetAsync(new Uri($"wss://127.0.0.1:{server.Port}/agent"), certificate, agents, metricsInterval);
            try
            {
                var phase = new Phase("warm-up", 100);
                server.OnAnswered = ms => phase.Record(ms);
                long nextId = 1;
                bool Send(int i) => server.Send(agentIds[Spread(i, agents)], Interlocked.Increment(ref nextId));
                await RunAsync(phase, 100, TimeSpan.FromSeconds(3), Send, () => server.Outstanding == 0);
                for (var r = 0; r < rates.Length; r++)
                {
                    phase = new Phase("direct wss (floor)", rates[r]);
                    server.OnAnswered = phase.Record;
                    await RunAsync(phase, rates[r], TimeSpan.FromSeconds(seconds[r]), Send, () => server.Outstanding == 0);
                    floor.Add(phase);
                    Console.WriteLine(phase.Summary());
                }
            }
            finally
            {
                await fleet.StopAsync();
            }
        }

        // 2. The pipeline: Kafka, dispatcher, connector, the same simulated agents; once per consumer fetch wait.
        using var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
        await new MockClusterTopicProvisioner(kafka).EnsureTopicsAsync(PipelineTopics.All(), CancellationToken.None);
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var schemas = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url.ToString() });
        using var results = new ResultsReader(kafka.BootstrapServers, schemas);
        var pipelines = new List<List<Phase>>();
        foreach (var fetchWait in fetchWaits)
        {
            pipelines.Add(await RunPipelineAsync(kafka.BootstrapServers, registry.Url, schemas, results, files, agentIds,
                metricsInterval, rates, seconds, fetchWait));
        }

        Console.WriteLine();
        Console.WriteLine($"Load average after the run: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| commands/s | path | commands | answered ok | p50 ms | p99 ms | max ms |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
        for (var r = 0; r < rates.Length; r++)
        {
            Console.WriteLine(floor[r].Row());
            foreach (var pipeline in pipelines) Console.WriteLine(pipeline[r].Row());
        }

        var lost = floor.Concat(pipelines.SelectMany(p => p)).Sum(p => p.Sent - p.Count);
        var notOk = pipelines.SelectMany(p => p).Sum(p => p.NotOk);
        if (lost > 0 || notOk > 0)
        {
            Console.Error.WriteLine($"{lost} commands without an answer, {notOk} results not ok");
            return 1;
        }

        return 0;
    }

    /// <summary>Starts a connector, a dispatcher and the fleet with consumers that wait at most <paramref name="fetchWaitMs"/> per fetch; measures every rate; stops them.</summary>
    private static async Task<List<Phase>> RunPipelineAsync(string bootstrap, Uri registryUrl, ISchemaRegistryClient schemas, ResultsReader results,
        ConnectorFiles files, string[] agentIds, TimeSpan metricsInterval, int[] rates, int[] seconds, int fetchWaitMs)
    {
        var phases = new List<Phase>();
        var path = $"pipeline, fetch.wait.max.ms={fetchWaitMs}";
        var common = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrap,
            ["Kafka:SchemaRegistryUrl"] = registryUrl.ToString(),
            ["Kafka:Client:fetch.wait.max.ms"] = fetchWaitMs.ToString(CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        var connector = await ConnectorHost.StartAsync(bootstrap, registryUrl, settings: common, connectorId: $"edge-bench-{fetchWaitMs}", files: files);
        var dispatcher = await StartDispatcherAsync(common, new()
        {
            ["Dispatcher:DispatcherId"] = $"dispatcher-bench-{fetchWaitMs}",
            ["Dispatcher:ListenAddress"] = "127.0.0.1",
            ["Dispatcher:OpsPort"] = "0",
            ["Dispatcher:DrainTimeout"] = "00:00:01",
        });
        var fleet = await StartFleetAsync(connector.AgentUrl, files.CertificatePath, agentIds.Length, metricsInterval);
        using var producer = new ProducerBuilder<string, AgentCommand>(new ProducerConfig
        {
            BootstrapServers = bootstrap, EnableIdempotence = true, Acks = Acks.All, LingerMs = 1,
        }).SetValueSerializer(ContractSerdes.Serializer<AgentCommand>(schemas, ContractCodec.ToRecord).AsSyncOverAsync()).Build();
        try
        {
            var phase = new Phase("warm-up", 100);
            var sentAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            results.OnResult = (commandId, status) =>
            {
                if (sentAt.TryRemove(commandId, out var sent)) phase.Record(Stopwatch.GetElapsedTime(sent).TotalMilliseconds, status == CommandStatus.Ok);
            };
            bool Send(int i)
            {
                var now = DateTimeOffset.UtcNow;
                var command = new AgentCommand(Guid.NewGuid().ToString(), agentIds[Spread(i, agentIds.Length)], "get-server-info", null, now.AddSeconds(30), now, "command-latency");
                sentAt[command.CommandId] = Stopwatch.GetTimestamp();
                producer.Produce(PipelineTopics.Commands, new Message<string, AgentCommand> { Key = command.AgentId, Value = command }, d =>
                {
                    if (d.Error.IsError) Console.Error.WriteLine($"command {command.CommandId} not produced: {d.Error.Reason}");
                });
                return true;
            }

            await WaitAsync(() => results.Assigned, TimeSpan.FromSeconds(30), "the results reader to be assigned");
            // Warm-up: the dispatcher reads presence and joins its group, schemas get cached, code gets jitted.
            await RunAsync(phase, 100, TimeSpan.FromSeconds(5), Send, () => sentAt.IsEmpty, settle: TimeSpan.FromSeconds(60));
            for (var r = 0; r < rates.Length; r++)
            {
                phase = new Phase(path, rates[r]);
                await RunAsync(phase, rates[r], TimeSpan.FromSeconds(seconds[r]), Send, () => sentAt.IsEmpty, settle: TimeSpan.FromSeconds(60));
                phases.Add(phase);
                Console.WriteLine(phase.Summary());
            }
        }
        finally
        {
            producer.Flush(TimeSpan.FromSeconds(10));
            await fleet.StopAsync();
            await dispatcher.StopAsync();
            await dispatcher.DisposeAsync();
            await connector.DisposeAsync();
        }

        return phases;
    }

    /// <summary>Command i goes to agent (i * 7919) mod n: consecutive commands land on different agents, each agent gets one per n.</summary>
    private static int Spread(int i, int agents) => (int)((long)i * 7919 % agents);

    /// <summary>Open loop: command i is sent at start + i/rate whatever the answers do; then waits for the stragglers.</summary>
    private static async Task RunAsync(Phase phase, int rate, TimeSpan duration, Func<int, bool> send, Func<bool> drained, TimeSpan? settle = null)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var start = Stopwatch.GetTimestamp();
        var i = 0;
        while (i < total)
        {
            var due = Math.Min(total, (int)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
            for (; i < due; i++)
            {
                if (send(phase.Offset + i)) phase.Sent++;
            }

            await Task.Delay(1);
        }

        phase.Offset += total;
        await WaitAsync(drained, settle ?? TimeSpan.FromSeconds(30), $"the answers of the {rate}/s phase");
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                Console.Error.WriteLine($"gave up after {timeout.TotalSeconds} s waiting for {what}");
                return;
            }

            await Task.Delay(20);
        }
    }

    private static async Task<SimulatedFleet> StartFleetAsync(Uri url, string certificate, int agents, TimeSpan metricsInterval)
    {
        var fleet = SimulatedFleet.Start(new SimulatorOptions
        {
            ServerUrl = url,
            TrustedCertificatePath = certificate,
            AgentCount = agents,
            TokenSeed = TokenSeed,
            MetricsInterval = metricsInterval,
            ResponseDelay = TimeSpan.Zero,
            MinReconnectDelay = TimeSpan.FromMilliseconds(200),
        });
        await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromSeconds(120));
        return fleet;
    }

    private static async Task<WebApplication> StartDispatcherAsync(Dictionary<string, string?> common, Dictionary<string, string?> own)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(common);
        builder.Configuration.AddInMemoryCollection(own);
        builder.AddDispatcher();
        var app = builder.Build();
        app.MapDispatcher();
        await app.StartAsync();
        return app;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }



    /// <summary>The latencies of one rate on one path.</summary>
    private sealed class Phase(string path, int rate)
    {
        private readonly Lock _gate = new();
        private readonly List<double> _ms = [];

        public int Sent { get; set; }
        public int Offset { get; set; }
        public int NotOk { get; private set; }

        public int Count
        {
            get { lock (_gate) return _ms.Count; }
        }

        public void Record(double ms) => Record(ms, true);

        public void Record(double ms, bool ok)
        {
            lock (_gate)
            {
                _ms.Add(ms);
                if (!ok) NotOk++;
            }
        }

        public string Summary() => $"{rate,5}/s {path}: {Row()}";

        public string Row()
        {
            double[] sorted;
            lock (_gate) sorted = [.. _ms.Order()];
            var ok = Count - NotOk;
            return sorted.Length == 0
                ? $"| {rate:N0} | {path} | {Sent:N0} | 0 | - | - | - |"
                : $"| {rate:N0} | {path} | {Sent:N0} | {ok:N0} | {Percentile(sorted, 0.50):F1} | {Percentile(sorted, 0.99):F1} | {sorted[^1]:F1} |";
        }

        private static double Percentile(double[] sorted, double p) => sorted[(int)Math.Ceiling(p * sorted.Length) - 1];
    }

    /// <summary>Reads <c>command-results</c> from its end on a dedicated thread, as the system that sent the commands would.</summary>
    private sealed class ResultsReader : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;

        public ResultsReader(string bootstrapServers, ISchemaRegistryClient registry)
        {
            var avro = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();
            _thread = new Thread(() =>
            {
                using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
                {
                    BootstrapServers = bootstrapServers, GroupId = "command-latency-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
                    FetchWaitMaxMs = 10,
                }).Build();
                var partitions = PipelineTopics.All().Single(t => t.Name == PipelineTopics.CommandResults).Partitions;
                consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(PipelineTopics.CommandResults, p,
                    consumer.QueryWatermarkOffsets(new TopicPartition(PipelineTopics.CommandResults, p), TimeSpan.FromSeconds(10)).High)));
                _assigned = true;
                while (!_stop.IsCancellationRequested)
                {
                    var cr = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    if (cr?.Message?.Value is null) continue;
                    var result = ContractCodec.ToCommandResult(avro.Deserialize(cr.Message.Value, false, new SerializationContext(MessageComponentType.Value, cr.Topic)));
                    OnResult?.Invoke(result.CommandId, result.Status);
                }

                consumer.Close();
            })
            { IsBackground = true, Name = "command-latency-results" };
            _thread.Start();
        }

        private volatile bool _assigned;

        public bool Assigned => _assigned;

        public Action<string, CommandStatus>? OnResult { get; set; }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }
}
