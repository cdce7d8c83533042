using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Avro.Generic;
using ClickHouse.Driver;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Tls;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Benchmarks.Deployment;

/// <summary>
/// A deploy under load (issue 11): the embedded infrastructure (<c>make infra</c>), 2 edge connectors behind HAProxy,
/// 2 dispatchers and 2 sinks, each its own process configured only by environment variables; 2,000 simulated agents
/// through the balancer and a steady command stream. Every service is restarted one at a time with SIGTERM, then one of
/// each is SIGKILLed and restarted. Afterwards: every metric Kafka acknowledged is in ClickHouse exactly once, every
/// command has exactly one result, none ran twice on its agent, every agent is back online through the balancer.
/// Exit code 0 when every check holds, 1 otherwise; the table goes to docs/benchmarks.md.
/// <c>dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- rolling-restart [--agents 2000] [--commands-per-second 20]</c>
/// </summary>
internal sealed class RollingRestartHarness : IHarness
{
    private const string TokenSeed = "rolling-restart";
    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(120);

    public string Name => "rolling-restart";

    public string Description => "Rolling restart (SIGTERM each service, then SIGKILL one of each) under 2,000 agents and a command stream; exactly-once checks";

    public IReadOnlyList<HarnessOption> Options { get; } =
    [
        HarnessOption.Number("--agents", 2000, "simulated agents behind the balancer"),
        HarnessOption.Number("--commands-per-second", 20, "steady command rate"),
    ];

    public async Task<int> RunAsync(HarnessArguments args)
    {
        var agents = args.Number("--agents");
        var rate = args.Number("--commands-per-second");
        var root = FindRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string Dll(string project, string? assembly = null) => Path.Combine(root, "src", project, "bin", configuration, "net10.0", (assembly ?? project) + ".dll");
        var dir = Directory.CreateTempSubdirectory("sp-rolling-restart-").FullName;
        var logs = Directory.CreateDirectory(Path.Combine(dir, "logs")).FullName;
        var clock = Stopwatch.StartNew();
        void Say(string text) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s] {text}");
        Say($"{agents} agents, {rate} commands/s; logs in {logs}; {Environment.ProcessorCount} cores");

        var all = new List<ServiceProcess>();
        SimulatedFleet? fleet = null;
        try
        {
            // 1. The infrastructure, as `make infra` runs it; its endpoints come back as the environment file.
            var envFile = Path.Combine(dir, "infra.env");
            var infra = new ServiceProcess("infra", "dotnet", [Dll("StreamPipeline.LocalStack"), "infra", "--LocalStack:DataPath=" + dir,
                "--LocalStack:ClickHouseDataPath=" + Path.Combine(dir, "clickhouse"), "--LocalStack:InfraEnvFile=" + envFile,
                "--LocalStack:SchemaRegistryPort=0", "--LocalStack:ClickHousePort=0"], new Dictionary<string, string>(), 0, logs);
            all.Add(infra);
            infra.Start();
            var env = await WaitForEnvFileAsync(envFile, TimeSpan.FromMinutes(2));
            Say("infrastructure up: " + env["StreamPipeline__Kafka__BootstrapServers"]);

            // 2. Credentials and certificate shared by both connectors (the balancer may send an agent to either).
            var certificate = Path.Combine(dir, "tls.crt");
            var key = Path.Combine(dir, "tls.key");
            DevelopmentCertificate.EnsureExists(certificate, key);
            var tokens = Path.Combine(dir, "tokens.txt");
            await File.WriteAllLinesAsync(tokens, Enumerable.Range(1, agents).Select(i =>
            {
                var id = SimulatedFleet.AgentIdFor("sim-", i);
                return TokenHashes.Line(id, SimulatedFleet.TokenFor(TokenSeed, id));
            }));

            // 3. The services, every one configured only through the environment.
            Dictionary<string, string> Env(params (string Key, string Value)[] own)
            {
                var e = new Dictionary<string, string>(env)
                {
                    // The mock broker holds an empty fetch for the whole fetch.wait.max.ms; a short wait keeps hops quick.
                    ["StreamPipeline__Kafka__Client__fetch.wait.max.ms"] = "10",
                    // Per-session logs of 2,000 agents would cost more CPU than the sessions; lifetime and drain logs stay.
                    ["StreamPipeline__Logging__LogLevel__Default"] = "Warning",
                    ["StreamPipeline__Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
                    ["StreamPipeline__Logging__LogLevel__StreamPipeline.EdgeConnector.Hosting"] = "Information",
                };
                foreach (var (k, v) in own) e["StreamPipeline__" + k.Replace(":", "__", StringComparison.Ordinal)] = v;
                return e;
            }

            var connectors = new List<(ServiceProcess Process, int Port)>();
            for (var i = 1; i <= 2; i++)
            {
                var port = FreePort();
                var ops = FreePort();
                var p = new ServiceProcess($"edge-{i}", "dotnet", [Dll("StreamPipeline.EdgeConnector")], Env(
                    ("EdgeConnector:ConnectorId", $"edge-{i}"), ("EdgeConnector:ListenAddress", "127.0.0.1"), ("EdgeConnector:Port", Str(port)),
                    ("EdgeConnector:OpsPort", Str(ops)), ("EdgeConnector:CertificatePath", certificate), ("EdgeConnector:CertificateKeyPath", key),
                    ("EdgeConnector:TokenStorePath", tokens), ("EdgeConnector:DrainWindow", "00:00:05")), ops, logs);
                connectors.Add((p, port));
            }

            var dispatchers = Enumerable.Range(1, 2).Select(i =>
            {
                var ops = FreePort();
                return new ServiceProcess($"dispatcher-{i}", "dotnet", [Dll("StreamPipeline.Dispatcher")], Env(
                    ("Dispatcher:DispatcherId", $"dispatcher-{i}"), ("Dispatcher:ListenAddress", "127.0.0.1"), ("Dispatcher:OpsPort", Str(ops))), ops, logs);
            }).ToList();
            var sinks = Enumerable.Range(1, 2).Select(i =>
            {
                var ops = FreePort();
                return new ServiceProcess($"sink-{i}", "dotnet", [Dll("StreamPipeline.Sink")], Env(
                    ("Sink:ClientId", $"sink-{i}"), ("Sink:OpsAddress", "127.0.0.1"), ("Sink:OpsPort", Str(ops)), ("Sink:CreateDeadLetterTopic", "false")), ops, logs);
            }).ToList();
            var services = connectors.Select(c => c.Process).Concat(dispatchers).Concat(sinks).ToList();
            all.AddRange(services);
            foreach (var s in services) s.Start();
            await Task.WhenAll(services.Select(s => s.WaitReadyAsync(TimeSpan.FromMinutes(2))));
            Say("services ready: " + string.Join(", ", services.Select(s => s.Name)));

            // 4. The balancer: HAProxy in TCP mode, routing only to connectors whose /readyz answers 200.
            var lbPort = FreePort();
            var haproxyConfig = Path.Combine(dir, "haproxy.cfg");
            await File.WriteAllTextAsync(haproxyConfig, HaproxyConfig(lbPort, connectors.Select(c => (c.Process.Name, c.Port, c.Process.OpsPort))));
            var haproxy = new ServiceProcess("haproxy", "haproxy", ["-db", "-f", haproxyConfig], new Dictionary<string, string>(), 0, logs);
            all.Add(haproxy);
            haproxy.Start();
            await WaitForPortAsync(lbPort, TimeSpan.FromSeconds(30));

            // 5. The fleet, through the balancer only.
            fleet = SimulatedFleet.Start(new SimulatorOptions
            {
                ServerUrl = new Uri($"wss://127.0.0.1:{lbPort}/agent"),
                TrustedCertificatePath = certificate,
                AgentCount = agents,
                TokenSeed = TokenSeed,
                MetricsInterval = TimeSpan.FromSeconds(5),
                ConnectRatePerSecond = 150,
                // A TLS handshake queued behind 2,000 others on 2 busy cores is slow, not failed: giving up at the default
                // 10 s and starting again only adds to the storm.
                ConnectTimeout = TimeSpan.FromSeconds(30),
                AuthenticationTimeout = TimeSpan.FromSeconds(30),
                MaxReconnectDelay = TimeSpan.FromSeconds(5),
                StatsInterval = TimeSpan.FromMinutes(10),
            });
            await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromMinutes(3));
            Say($"{agents} agents online through HAProxy :{lbPort}");

            var kafka = new KafkaOptions { BootstrapServers = env["StreamPipeline__Kafka__BootstrapServers"], SchemaRegistryUrl = env["StreamPipeline__Kafka__SchemaRegistryUrl"] };
            using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = kafka.SchemaRegistryUrl });
            using var clickHouse = new ClickHouseClient(env["StreamPipeline__ClickHouse__ConnectionString"]);
            using var commands = new CommandStream(kafka, registry, fleet, rate);
            await commands.WaitFirstOkAsync(TimeSpan.FromMinutes(1));
            Say("command stream flowing");

            // 6. Every service restarted one at a time with SIGTERM, then one of each SIGKILLed.
            var steps = new List<Step>();
            foreach (var s in services) steps.Add(await RestartAsync(s, "TERM"));
            foreach (var s in new[] { connectors[0].Process, dispatchers[0], sinks[0] }) steps.Add(await RestartAsync(s, "KILL"));

            async Task<Step> RestartAsync(ServiceProcess service, string signal)
            {
                var metricsAtSignal = MetricsInKafka(kafka);
                var started = Stopwatch.GetTimestamp();
                var code = await service.SignalAndWaitAsync(signal, TimeSpan.FromSeconds(60));
                var stopped = Stopwatch.GetElapsedTime(started);
                service.Start();
                await service.WaitReadyAsync(StepTimeout);
                var ready = Stopwatch.GetElapsedTime(started);
                var afterReady = commands.Sent;
                // Recovered: every agent online again, a command sent after the restart answered ok, and ClickHouse has
                // caught up with every metric Kafka held when the signal was sent.
                await Until(() => fleet.Agents.All(a => a.IsAuthenticated), StepTimeout, "all agents online again");
                await commands.WaitOkAfterAsync(afterReady, StepTimeout);
                await UntilAsync(async () => await CountAsync(clickHouse, "SELECT count() FROM streampipeline.metrics_samples") >= metricsAtSignal, StepTimeout, "ClickHouse caught up");
                var recovered = Stopwatch.GetElapsedTime(started);
                var step = new Step(service.Name, "SIG" + signal, code, stopped, ready, recovered);
                Say($"{step.Service} {step.Signal}: exit {code}, stopped in {stopped.TotalSeconds:F1} s, ready in {ready.TotalSeconds:F1} s, recovered in {recovered.TotalSeconds:F1} s");
                return step;
            }

            // 7. Drain: stop the commands, wait for their results; stop the fleet, wait for the sink to load everything.
            var online = fleet.Agents.Count(a => a.IsAuthenticated);
            commands.StopSending();
            await commands.WaitAllResultsAsync(CommandDeadline + TimeSpan.FromSeconds(60));
            await fleet.StopAsync(TimeSpan.FromSeconds(20));
            var stats = fleet.Stats;
            var inKafka = MetricsInKafka(kafka);
            await UntilAsync(async () => await CountAsync(clickHouse, "SELECT count() FROM streampipeline.metrics_samples") >= inKafka, TimeSpan.FromSeconds(90), "the sinks to load every metric");

            // 8. The checks.
            var rows = await CountAsync(clickHouse, "SELECT count() FROM streampipeline.metrics_samples");
            var distinct = await CountAsync(clickHouse, "SELECT uniqExact(kafka_partition, kafka_offset) FROM streampipeline.metrics_samples");
            await commands.WaitAllRequestsReadAsync(TimeSpan.FromSeconds(30));
            var report = commands.Check(stats.Executions);
            var failures = new List<string>();
            if (steps.Any(s => s.Signal == "SIGTERM" && s.ExitCode != 0)) failures.Add("a service exited non-zero after SIGTERM: " + string.Join(", ", steps.Where(s => s.Signal == "SIGTERM" && s.ExitCode != 0).Select(s => $"{s.Service}={s.ExitCode}")));
            if (rows != inKafka || distinct != rows) failures.Add($"metrics: {inKafka} acknowledged in Kafka, {rows} rows in ClickHouse, {distinct} distinct offsets");
            if (report.Missing + report.Duplicated > 0) failures.Add($"commands: {report.Missing} without a result, {report.Duplicated} with more than one");
            // Executions per request id (the simulator's count), mapped to commands through connector-requests.
            if (report.ExecutedTwice > 0 || report.Unaccounted != 0) failures.Add($"executions: {report.ExecutedTwice} commands ran twice or disagree with their result; the agents ran {stats.Executions} requests, {report.Unaccounted} of them under no request id sent for a command");
            if (online != agents) failures.Add($"agents online through the balancer before the drain: {online} of {agents}");

            Console.WriteLine();
            Console.WriteLine($"| Step | Signal | Exit code | Stopped (s) | Ready again (s) | Recovered (s) |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|");
            foreach (var s in steps) Console.WriteLine($"| {s.Service} | {s.Signal} | {s.ExitCode} | {s.Stopped.TotalSeconds:F1} | {s.Ready.TotalSeconds:F1} | {s.Recovered.TotalSeconds:F1} |");
            Console.WriteLine();
            Console.WriteLine($"metrics acknowledged by Kafka {inKafka}, rows in ClickHouse {rows}, distinct (partition, offset) {distinct}");
            Console.WriteLine($"commands sent {report.Sent}: results ok {report.Ok}, other {report.NotOk} ({report.Statuses}); missing {report.Missing}, duplicated {report.Duplicated}, executed twice {report.ExecutedTwice}; executions mapped to a command {report.Executions}, unaccounted {report.Unaccounted}");
            Console.WriteLine($"agents {agents}: online before the drain {online}; reconnects {stats.Reconnects}, executions {stats.Executions}, cached replies {stats.CachedReplies}");
            Console.WriteLine($"total {clock.Elapsed.TotalSeconds:F0} s");
            foreach (var f in failures) Console.WriteLine("FAILED: " + f);
            Console.WriteLine(failures.Count == 0 ? "rolling-restart: every check passed" : $"rolling-restart: {failures.Count} check(s) failed; logs in {logs}");
            return failures.Count == 0 ? 0 : 1;
        }
        finally
        {
            if (fleet is not null) await fleet.DisposeAsync();
            for (var i = all.Count - 1; i >= 0; i--) all[i].Dispose();
        }
    }

    private static string HaproxyConfig(int port, IEnumerable<(string Name, int Port, int OpsPort)> connectors) =>
        $"""
        global
            maxconn 6000
        defaults
            mode tcp
            timeout connect 5s
            timeout client 10m
            timeout server 10m
        frontend agents
            bind 127.0.0.1:{port}
            default_backend connectors
        backend connectors
            balance leastconn
            option httpchk GET /readyz
            # A draining connector answers /readyz 503 and closes its own sessions; a check slowed by a TLS storm on
            # 2 cores must not mark it down (and a down mark must not cut the sessions it still serves).
            timeout check 5s
            default-server inter 1s fall 3 rise 1
        {string.Join("\n", connectors.Select(c => $"    server {c.Name} 127.0.0.1:{c.Port} check port {c.OpsPort}"))}

        """;

    private static long MetricsInKafka(KafkaOptions kafka)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(kafka.ConsumerConfig("rolling-restart-watermarks", "rolling-restart")).Build();
        var partitions = PipelineTopics.All().Single(t => t.Name == PipelineTopics.Metrics).Partitions;
        long total = 0;
        for (var p = 0; p < partitions; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(PipelineTopics.Metrics, p), TimeSpan.FromSeconds(10));
            if (w.Low.Value > 0) throw new InvalidOperationException($"the mock broker evicted records from {PipelineTopics.Metrics}[{p}] (low watermark {w.Low}): run shorter or with fewer agents");
            total += w.High.Value;
        }

        return total;
    }

    private static async Task<long> CountAsync(ClickHouseClient client, string sql) =>
        Convert.ToInt64(await client.ExecuteScalarAsync(sql), CultureInfo.InvariantCulture);

    private static async Task<Dictionary<string, string>> WaitForEnvFileAsync(string path, TimeSpan timeout)
    {
        await Until(() => File.Exists(path), timeout, path);
        return File.ReadAllLines(path).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('\''), StringComparer.Ordinal);
    }

    private static async Task WaitForPortAsync(int port, TimeSpan timeout) => await UntilAsync(async () =>
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }, timeout, $"HAProxy on {port}");

    private static Task Until(Func<bool> condition, TimeSpan timeout, string what) => UntilAsync(() => Task.FromResult(condition()), timeout, what);

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout) throw new TimeoutException($"timed out after {timeout} waiting for {what}");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);


    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamPipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("StreamPipeline.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed record Step(string Service, string Signal, int ExitCode, TimeSpan Stopped, TimeSpan Ready, TimeSpan Recovered);

    internal sealed record CommandReport(int Sent, int Ok, int NotOk, string Statuses, int Missing, int Duplicated, int ExecutedTwice, long Executions, long Unaccounted);

    /// <summary>
    /// The other system: a steady stream of <c>get-server-info</c> commands to random agents (Avro through the registry, as
    /// docs/commands.md says), and every record of <c>command-results</c> from its start, counted per command id.
    /// </summary>
    private sealed class CommandStream : IDisposable
    {
        private readonly SimulatedFleet _fleet;
        private readonly IProducer<string, AgentCommand> _producer;
        private readonly ConcurrentDictionary<string, (AgentCommand Command, int Sequence)> _sent = new();
        private readonly ConcurrentDictionary<string, List<CommandResult>> _results = new();
        // The dispatchers' log of what they sent (connector-requests): every request id any agent can have received,
        // with the command it was sent for. An agent only ever runs what a connector relayed from this topic.
        private readonly ConcurrentDictionary<(string AgentId, long RequestId), HashSet<string>> _commandsByRequest = new();
        private readonly ConcurrentDictionary<string, HashSet<long>> _requestsByCommand = new();
        private readonly ConcurrentDictionary<int, long> _requestsRead = new();
        private readonly KafkaOptions _kafka;
        private readonly CancellationTokenSource _stopSending = new();
        private readonly CancellationTokenSource _stopReading = new();
        private readonly Thread _reader;
        private readonly Task _sender;
        private int _sequence;

        public CommandStream(KafkaOptions kafka, ISchemaRegistryClient registry, SimulatedFleet fleet, int perSecond)
        {
            _fleet = fleet;
            _kafka = kafka;
            var producerConfig = kafka.ProducerConfig("rolling-restart-commands");
            producerConfig.LingerMs = 1;
            _producer = new ProducerBuilder<string, AgentCommand>(producerConfig)
                .SetValueSerializer(ContractSerdes.Serializer<AgentCommand>(registry, ContractCodec.ToRecord).AsSyncOverAsync()).Build();
            var avro = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();
            var consumerConfig = kafka.ConsumerConfig("rolling-restart-results-" + Guid.NewGuid().ToString("N"), "rolling-restart-results");
            consumerConfig.FetchWaitMaxMs = 10;
            _reader = new Thread(() =>
            {
                using var consumer = new ConsumerBuilder<string, byte[]>(consumerConfig).Build();
                consumer.Assign(Partitions(PipelineTopics.CommandResults).Concat(Partitions(PipelineTopics.ConnectorRequests))
                    .Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
                while (!_stopReading.IsCancellationRequested)
                {
                    var cr = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    if (cr?.Message?.Value is null) continue;
                    var record = avro.Deserialize(cr.Message.Value, false, new SerializationContext(MessageComponentType.Value, cr.Topic));
                    if (cr.Topic == PipelineTopics.ConnectorRequests)
                    {
                        OnRequest(ContractCodec.ToConnectorRequest(record));
                        _requestsRead.AddOrUpdate(cr.Partition.Value, 1, (_, n) => n + 1);
                        continue;
                    }

                    var result = ContractCodec.ToCommandResult(record);
                    var list = _results.GetOrAdd(result.CommandId, _ => []);
                    lock (list) list.Add(result);
                }

                consumer.Close();
            })
            { IsBackground = true, Name = "rolling-restart-results" };
            _reader.Start();
            _sender = Task.Run(() => SendAsync(perSecond));
        }

        public int Sent => Volatile.Read(ref _sequence);

        private static IEnumerable<TopicPartition> Partitions(string topic) =>
            Enumerable.Range(0, PipelineTopics.All().Single(t => t.Name == topic).Partitions).Select(p => new TopicPartition(topic, p));

        private void OnRequest(ConnectorRequest request)
        {
            var commands = _commandsByRequest.GetOrAdd((request.AgentId, request.RequestId), _ => []);
            lock (commands) commands.Add(request.CommandId);
            var ids = _requestsByCommand.GetOrAdd(request.CommandId, _ => []);
            lock (ids) ids.Add(request.RequestId);
        }

        /// <summary>
        /// Waits until every record of connector-requests has been read, counted per partition from offset 0: a record the
        /// mock broker evicted before it was read leaves its partition short, and the wait fails rather than the check
        /// passing on a partial log.
        /// </summary>
        public async Task WaitAllRequestsReadAsync(TimeSpan timeout)
        {
            using var consumer = new ConsumerBuilder<Ignore, Ignore>(_kafka.ConsumerConfig("rolling-restart-watermarks", "rolling-restart")).Build();
            var high = Partitions(PipelineTopics.ConnectorRequests).ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value);
            var started = Stopwatch.GetTimestamp();
            while (!high.All(h => _requestsRead.GetValueOrDefault(h.Key) >= h.Value))
            {
                if (Stopwatch.GetElapsedTime(started) > timeout)
                {
                    throw new TimeoutException($"connector-requests not read to the end from offset 0 within {timeout} (evicted by the mock broker?): records read/high watermark per partition " +
                        string.Join(", ", high.Select(h => $"[{h.Key}] {_requestsRead.GetValueOrDefault(h.Key)}/{h.Value}")));
                }

                await Task.Delay(100);
            }
        }

        private async Task SendAsync(int perSecond)
        {
            var random = new Random(11);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / perSecond));
            while (await timer.WaitForNextTickAsync(_stopSending.Token).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default))
            {
                var agent = _fleet.Agents[random.Next(_fleet.Agents.Count)].AgentId;
                var now = DateTimeOffset.UtcNow;
                var command = new AgentCommand(Guid.NewGuid().ToString(), agent, "get-server-info", null, now + CommandDeadline, now, "rolling-restart");
                try
                {
                    await _producer.ProduceAsync(PipelineTopics.Commands, new Message<string, AgentCommand> { Key = agent, Value = command });
                    _sent[command.CommandId] = (command, Interlocked.Increment(ref _sequence));
                }
                catch (ProduceException<string, AgentCommand>)
                {
                    // Not acknowledged by Kafka: never sent as far as the other system knows, so no result is owed.
                }
            }
        }

        public async Task WaitFirstOkAsync(TimeSpan timeout) => await WaitOkAfterAsync(0, timeout);

        /// <summary>Waits for an ok result of a command sent after the <paramref name="sequence"/>-th.</summary>
        public async Task WaitOkAfterAsync(int sequence, TimeSpan timeout) => await UntilAsync(() => Task.FromResult(_results.Any(r =>
            _sent.TryGetValue(r.Key, out var s) && s.Sequence > sequence && r.Value.Any(x => x.Status == CommandStatus.Ok))), timeout, $"an ok result of a command sent after #{sequence}");

        public void StopSending()
        {
            _stopSending.Cancel();
            _sender.Wait();
        }

        public Task WaitAllResultsAsync(TimeSpan timeout) => UntilAsync(() => Task.FromResult(_sent.Keys.All(_results.ContainsKey)), timeout, "a result for every command");

        /// <summary>
        /// Results per command, and executions per request id: the simulator counts every request it really ran by the
        /// request id it carried, and connector-requests names the command every request id was sent for. Executed twice:
        /// a command whose request ids ran more than once in all (a re-send run again, or a second id run too), a request
        /// id sent for two commands, or an ok result without exactly one execution. Unaccounted: an execution whose
        /// request id no dispatcher sent for a command of that agent. Both must be 0; the results' own request ids are
        /// not used to count (a command that expired or timed out after its agent ran it has none) but must agree.
        /// </summary>
        public CommandReport Check(long fleetExecutions)
        {
            int ok = 0, notOk = 0, missing = 0, duplicated = 0, twice = 0, printed = 0;
            long executions = 0;
            var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
            void Show(string text)
            {
                if (++printed <= 10) Console.WriteLine(text);
            }

            foreach (var (id, (command, _)) in _sent)
            {
                long[] requestIds = [];
                if (_requestsByCommand.TryGetValue(id, out var sentIds))
                {
                    lock (sentIds) requestIds = [.. sentIds];
                }

                var runs = requestIds.Select(r => (Id: r, Runs: _fleet.ExecutionCount(command.AgentId, r))).ToArray();
                var n = runs.Sum(r => r.Runs);
                executions += n;
                if (!_results.TryGetValue(id, out var list))
                {
                    missing++;
                    continue;
                }

                CommandResult result;
                lock (list)
                {
                    if (list.Count > 1)
                    {
                        duplicated++;
                        Show($"duplicate results for command {id} ({command.AgentId}): " + string.Join("; ", list.Select(r =>
                            $"{r.Status} request {r.RequestId} via {r.ConnectorId} completed {r.CompletedTime:HH:mm:ss.fff}")));
                    }

                    result = list[0];
                    foreach (var r in list.Where(r => r.RequestId is { } named && !requestIds.Contains(named)))
                    {
                        twice++;
                        Show($"command {id} ({command.AgentId}): its {r.Status} result names request {r.RequestId}, which connector-requests never carried for it");
                    }
                }

                statuses[result.Status.ToString()] = statuses.GetValueOrDefault(result.Status.ToString()) + 1;
                if (result.Status == CommandStatus.Ok) ok++;
                else notOk++;
                if (n > 1 || (result.Status == CommandStatus.Ok && n != 1))
                {
                    twice++;
                    Show($"command {id} ({command.AgentId}): {result.Status}, executions per request id: " + string.Join(", ", runs.Select(r => $"{r.Id}={r.Runs}")));
                }
            }

            foreach (var ((agent, requestId), commands) in _commandsByRequest)
            {
                lock (commands)
                {
                    if (commands.Count > 1)
                    {
                        twice++;
                        Show($"request {requestId} of {agent} was sent for {commands.Count} commands: {string.Join(", ", commands)}");
                    }
                }
            }

            return new CommandReport(_sent.Count, ok, notOk, string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}")), missing, duplicated, twice, executions, fleetExecutions - executions);
        }

        public void Dispose()
        {
            if (!_stopSending.IsCancellationRequested) StopSending();
            _stopReading.Cancel();
            _reader.Join(TimeSpan.FromSeconds(10));
            _producer.Flush(TimeSpan.FromSeconds(10));
            _producer.Dispose();
            _stopSending.Dispose();
            _stopReading.Dispose();
        }
    }
}
