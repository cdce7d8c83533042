using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.LocalStack;

/// <summary>What <c>make run</c> prints: where everything listens and how to look at the data.</summary>
internal static class Banner
{
    private const string AuthenticateExample = """{"type":"request","id":1,"action":"authenticate","payload":{"agent_id":"my-host-1","token":"<token>"}}""";

    public static void Print(EmbeddedInfrastructure infra, PipelineServices services, LocalStackOptions o, Uri? fleetPage = null)
    {
        var ch = infra.ClickHouse.Url.ToString().TrimEnd('/');
        Console.WriteLine($"""

            StreamPipeline is running on embedded infrastructure (Ctrl-C stops it).
              Kafka (librdkafka mock)   {infra.Kafka.BootstrapServers}
                topics                  {string.Join(", ", PipelineTopics.All().Select(t => $"{t.Name}({t.Partitions})"))}
              Schema Registry           {infra.SchemaRegistry.Url}
              ClickHouse (chDB 26.7)    {ch}   (data in {o.ClickHouseDataPath})
              Edge connector            wss://127.0.0.1:{o.ConnectorPort}/agent   certificate {services.CertificatePath}
                health and metrics      http://127.0.0.1:{o.ConnectorOpsPort}/readyz  http://127.0.0.1:{o.ConnectorOpsPort}/metrics
              Sink worker               http://127.0.0.1:{o.SinkOpsPort}/readyz   -> ClickHouse database streampipeline
              Command dispatcher        http://127.0.0.1:{o.DispatcherOpsPort}/readyz
              Simulated agents          {o.SimulatedAgents} (sim-000001...), a metrics sample every {o.MetricsInterval.TotalSeconds:0.#} s each
              Fleet page (browser)      {fleetPage?.ToString() ?? "off (--FleetPage:Enabled=false, or its port was taken: see the warning above)"}

            Try:
              curl '{infra.SchemaRegistry.Url}subjects'
              curl 'http://127.0.0.1:{o.ConnectorOpsPort}/metrics' | grep edge_metrics_published
              curl '{ch}/' --data-binary 'SELECT count(), uniq(agent_id), max(received_time) FROM streampipeline.metrics_samples'
              curl '{ch}/' --data-binary 'SELECT agent_id, round(avgMerge(cpu_avg), 1) AS cpu FROM streampipeline.metrics_1m GROUP BY agent_id ORDER BY cpu DESC LIMIT 5'
              make spctl ARGS="agents"
              make spctl ARGS="send --agent sim-000001 --action get-server-info --wait"

            Connect a real agent:
              make token AGENT=my-host-1      prints its token once; only the hash goes into {services.TokenStorePath}
                                             (the running connector picks it up within seconds)
              agent URL {"wss://127.0.0.1:" + o.ConnectorPort + "/agent",-24} trust the development certificate {services.CertificatePath}
              first frame                    {AuthenticateExample}

            """);
    }

    /// <summary>What <c>make infra</c> prints: the endpoints, the environment file and how to start each service against them.</summary>
    public static void PrintInfrastructure(EmbeddedInfrastructure infra, LocalStackOptions o, string envFile)
    {
        var variables = string.Join(Environment.NewLine, InfraEnvironmentFile.Variables(infra).Select(v => "              " + v.Key + "=" + v.Value));
        Console.WriteLine($"""

            StreamPipeline infrastructure is running (embedded; Ctrl-C or SIGTERM stops it).
              Kafka (librdkafka mock)   {infra.Kafka.BootstrapServers}
                topics                  {string.Join(", ", PipelineTopics.All().Select(t => $"{t.Name}({t.Partitions})"))}
              Schema Registry           {infra.SchemaRegistry.Url}
              ClickHouse (chDB 26.7)    {infra.ClickHouse.Url}   (data in {o.ClickHouseDataPath})

            Environment for the services, written to {envFile}:
            {variables}

            Run each service as its own process, configured only by environment variables (docs/deploy.md lists them):
              set -a; . {envFile}; set +a
              dotnet src/StreamPipeline.Sink/bin/Release/net10.0/StreamPipeline.Sink.dll

            """);
        Console.Out.Flush();
    }
}
