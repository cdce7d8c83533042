using System.Diagnostics;
using System.Globalization;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Tls;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Benchmarks.Edge;

/// <summary>
/// Load on this machine: N authenticated agents over real wss sending metrics every 5 s, through connector
/// processes, into the embedded Kafka. Measures connector memory per connection, p99 frame-received-to-Kafka-ack
/// latency over a steady window, and the connect rate when every agent of a connector reconnects at once
/// (the connector is killed and restarted). Each connector and each simulator is its own process: a process here
/// may hold at most ~20,000 sockets (RLIMIT_NOFILE hard limit), so 50,000 agents need 3 connectors.
///   dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- edge-load --agents 50000 --connectors 3
/// </summary>
public sealed class EdgeLoadHarness : IHarness
{
    private const string Seed = "edge-load";
    public string Name => "edge-load";
    public string Description => "N agents over wss -> connector processes -> embedded Kafka: memory/connection, p99 produce latency, reconnect storm";

    public IReadOnlyList<HarnessOption> Options { get; } =
    [
        HarnessOption.Number("--agents", 20_000, "simulated agents"),
        HarnessOption.Number("--connectors", 0, "connector processes (0: one per 17,000 agents)"),
        HarnessOption.Number("--steady-seconds", 60, "seconds of steady streaming measured"),
        HarnessOption.Number("--connect-timeout-seconds", 600, "limit for the whole fleet to authenticate"),
        HarnessOption.Number("--ramp", 500, "new connections per second per simulator"),
        HarnessOption.Number("--storm-seconds", 300, "limit for the reconnect storm after the connector restart"),
    ];

    public async Task<int> RunAsync(HarnessArguments args)
    {
        var agents = args.Number("--agents");
        var connectors = args.Number("--connectors") is > 0 and var n ? n : Math.Max(1, (agents + 16_999) / 17_000);
        var steady = TimeSpan.FromSeconds(args.Number("--steady-seconds"));
        var connectTimeout = TimeSpan.FromSeconds(args.Number("--connect-timeout-seconds"));
        var ramp = args.Number("--ramp");
        var repo = FindRepo();
        var connectorDll = Path.Combine(repo, "src/StreamPipeline.EdgeConnector/bin/Release/net10.0/StreamPipeline.EdgeConnector.dll");
        var simulatorDll = Path.Combine(repo, "src/StreamPipeline.AgentSimulator/bin/Release/net10.0/StreamPipeline.AgentSimulator.dll");
        foreach (var dll in new[] { connectorDll, simulatorDll })
        {
            if (!File.Exists(dll)) { Console.Error.WriteLine($"{dll} is missing: run 'dotnet build -c Release StreamPipeline.sln' first."); return 2; }
        }

        var dir = Directory.CreateTempSubdirectory("edge-load-").FullName;
        var cert = Path.Combine(dir, "connector.crt");
        var key = Path.Combine(dir, "connector.key");
        DevelopmentCertificate.EnsureExists(cert, key);
        var tokens = Path.Combine(dir, "tokens.txt");
        File.WriteAllLines(tokens, Enumerable.Range(1, agents).Select(i =>
        {
            var id = SimulatedFleet.AgentIdFor("sim-", i);
            return TokenHashes.Line(id, SimulatedFleet.TokenFor(Seed, id));
        }));

        using var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
        await new MockClusterTopicProvisioner(kafka).EnsureTopicsAsync(PipelineTopics.All(), CancellationToken.None);
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var shares = Enumerable.Range(0, connectors).Select(c => (First: 1 + c * agents / connectors, Count: (c + 1) * agents / connectors - c * agents / connectors)).ToArray();
        var edge = new ChildProcess?[connectors];
        var sims = new List<ChildProcess>();
        try
        {
            for (var c = 0; c < connectors; c++) edge[c] = StartConnector(connectorDll, c, kafka, registry, cert, key, tokens);
            for (var c = 0; c < connectors; c++) await WaitReadyAsync(http, c, edge[c]!);
            await Task.Delay(TimeSpan.FromSeconds(5));
            var rssIdle = edge.Select(e => e!.RssBytes()).ToArray();

            Console.WriteLine($"Starting {agents} agents over {connectors} connector(s)...");
            var connectWatch = Stopwatch.StartNew();
            for (var c = 0; c < connectors; c++)
            {
                var local = $"127.0.{10 + c}.1..127.0.{10 + c}.8";
                sims.Add(new ChildProcess(simulatorDll,
                [
                    $"--Simulator:AgentCount={shares[c].Count}", $"--Simulator:FirstAgentNumber={shares[c].First}",
                    $"--Simulator:ServerUrl=wss://127.0.0.1:{AgentPort(c)}/agent", $"--Simulator:TrustedCertificatePath={cert}",
                    $"--Simulator:TokenSeed={Seed}", "--Simulator:MetricsInterval=00:00:05", $"--Simulator:ConnectRatePerSecond={ramp}",
                    "--Simulator:StatsInterval=00:00:05", $"--Simulator:LocalAddresses:0={local}", "--Logging:LogLevel:Default=Warning",
                    "--Logging:LogLevel:StreamPipeline.AgentSimulator.Fleet=Information",
                ], $"simulator-{c}"));
            }

            var connected = await WaitSessionsAsync(http, connectors, agents, connectTimeout, sims, edge);
            var connectSeconds = connectWatch.Elapsed.TotalSeconds;
            Console.WriteLine($"{connected} of {agents} sessions after {connectSeconds:F0} s; steady window {steady.TotalSeconds:F0} s...");
            await Task.Delay(TimeSpan.FromSeconds(10));
            var before = new PrometheusScrape[connectors];
            for (var c = 0; c < connectors; c++) before[c] = await PrometheusScrape.FetchAsync(http, MetricsUrl(c));
            await Task.Delay(steady);
            var after = new PrometheusScrape[connectors];
            for (var c = 0; c < connectors; c++) after[c] = await PrometheusScrape.FetchAsync(http, MetricsUrl(c));
            var rssLoaded = edge.Select(e => e!.RssBytes()).ToArray();
            foreach (var line in (await http.GetStringAsync(MetricsUrl(0))).Split('\n').Where(l => l.StartsWith("dotnet_gc_last_collection_heap_size", StringComparison.Ordinal) || l.StartsWith("dotnet_gc_last_collection_memory_committed", StringComparison.Ordinal) || l.StartsWith("dotnet_process_memory_working_set", StringComparison.Ordinal)))
                Console.WriteLine("  connector 0 " + line);

            var rows = new List<string>();
            double totalFrames = 0;
            for (var c = 0; c < connectors; c++)
            {
                var b = before[c].Buckets("edge_produce_latency");
                var a = after[c].Buckets("edge_produce_latency");
                var frames = PrometheusScrape.Count(b, a);
                totalFrames += frames;
                var sessions = after[c].Sum("edge_sessions");
                var perConn = sessions > 0 ? (rssLoaded[c] - rssIdle[c]) / sessions / 1024 : double.NaN;
                rows.Add($"| connector {c} | {sessions:N0} | {rssIdle[c] / 1048576:N0} MB | {rssLoaded[c] / 1048576:N0} MB | {perConn:F1} KB | {frames / steady.TotalSeconds:N0} | <= {PrometheusScrape.Quantile(b, a, 0.5)} ms | <= {PrometheusScrape.Quantile(b, a, 0.99)} ms | {after[c].Sum("edge_backpressure_wait_milliseconds_count") - before[c].Sum("edge_backpressure_wait_milliseconds_count"):N0} |");
            }

            Console.WriteLine();
            Console.WriteLine($"## edge-load: {agents:N0} agents, {connectors} connector process(es), metrics every 5 s, {Environment.ProcessorCount} cores");
            Console.WriteLine();
            Console.WriteLine($"Initial connect: {connected:N0} sessions in {connectSeconds:F0} s (each simulator ramps at {ramp:N0}/s; connector admission limit 2,000/s each).");
            Console.WriteLine();
            Console.WriteLine("| | sessions | RSS idle | RSS loaded | RSS growth per connection | frames/s | p50 received-to-ack | p99 received-to-ack | backpressure waits |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows) Console.WriteLine(r);
            Console.WriteLine($"| total | {connected:N0} | | | | {totalFrames / steady.TotalSeconds:N0} | | | |");
            Console.WriteLine();
            Console.Out.Flush();

            // Reconnect storm: connector 0 dies; all its agents reconnect to its replacement at once.
            edge[0]!.Kill();
            var storm = Stopwatch.StartNew();
            edge[0] = StartConnector(connectorDll, 0, kafka, registry, cert, key, tokens);
            await WaitReadyAsync(http, 0, edge[0]!);
            var ready = storm.Elapsed;
            var stormDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(args.Number("--storm-seconds"));
            double back = 0;
            while (DateTime.UtcNow < stormDeadline)
            {
                back = (await PrometheusScrape.FetchAsync(http, MetricsUrl(0))).Sum("edge_sessions");
                if (back >= shares[0].Count) break;
                await Task.Delay(250);
            }

            var stormSeconds = storm.Elapsed.TotalSeconds;
            var rejected = (await PrometheusScrape.FetchAsync(http, MetricsUrl(0))).Sum("edge_connections_rejected_total");

            Console.WriteLine($"Reconnect storm: connector 0 killed and restarted; ready after {ready.TotalSeconds:F1} s; {back:N0} of {shares[0].Count:N0} agents back after {stormSeconds:F1} s " +
                              $"({back / Math.Max(0.001, stormSeconds - ready.TotalSeconds):N0} connections/s after readiness; {rejected:N0} attempts shed with 503).");
            return connected >= agents ? 0 : 1;
        }
        finally
        {
            foreach (var s in sims) s.Dispose();
            foreach (var e in edge) e?.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static int AgentPort(int c) => 18443 + c;
    private static Uri MetricsUrl(int c) => new($"http://127.0.0.1:{19101 + c}/metrics");

    private static ChildProcess StartConnector(string dll, int c, EmbeddedKafkaCluster kafka, EmbeddedSchemaRegistry registry, string cert, string key, string tokens) =>
        new(dll,
        [
            $"--EdgeConnector:ConnectorId=edge-load-{c}", "--EdgeConnector:ListenAddress=127.0.0.1",
            $"--EdgeConnector:Port={AgentPort(c)}", $"--EdgeConnector:OpsPort={19101 + c}",
            $"--EdgeConnector:CertificatePath={cert}", $"--EdgeConnector:CertificateKeyPath={key}", $"--EdgeConnector:TokenStorePath={tokens}",
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--Kafka:SchemaRegistryUrl={registry.Url}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:StreamPipeline.EdgeConnector.Sessions=Error",
        ], $"connector-{c}");

    private static async Task WaitReadyAsync(HttpClient http, int c, ChildProcess process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.Exited) throw new InvalidOperationException($"connector {c} exited:\n{process.Tail(30)}");
            try
            {
                using var r = await http.GetAsync(new Uri($"http://127.0.0.1:{19101 + c}/readyz"));
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }

        throw new TimeoutException($"connector {c} not ready after 60 s:\n{process.Tail(30)}");
    }

    private static async Task<double> WaitSessionsAsync(HttpClient http, int connectors, int agents, TimeSpan timeout, List<ChildProcess> sims, ChildProcess?[] edge)
    {
        var deadline = DateTime.UtcNow + timeout;
        double sessions = 0;
        var lastPrint = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            sessions = 0;
            for (var c = 0; c < connectors; c++) sessions += (await PrometheusScrape.FetchAsync(http, MetricsUrl(c))).Sum("edge_sessions");
            if (sessions >= agents) return sessions;
            if (DateTime.UtcNow - lastPrint > TimeSpan.FromSeconds(10))
            {
                lastPrint = DateTime.UtcNow;
                Console.WriteLine($"  {sessions:N0} sessions; connector RSS {string.Join(", ", edge.Select(e => $"{e!.RssBytes() / 1048576} MB"))}; {sims[0].LastLineContaining("authenticated=")}");
            }

            await Task.Delay(1000);
        }

        return sessions;
    }


    private static string FindRepo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamPipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Run from inside the repository.");
    }
}
