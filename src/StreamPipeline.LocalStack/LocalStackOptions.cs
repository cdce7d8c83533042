namespace StreamPipeline.LocalStack;

/// <summary>Settings of <c>make run</c> (section <c>LocalStack</c>; e.g. <c>--LocalStack:ClickHousePort=18123</c>).</summary>
internal sealed class LocalStackOptions
{
    public int KafkaBrokers { get; set; } = 3;
    public int SchemaRegistryPort { get; set; } = 8081;
    public int ClickHousePort { get; set; } = 8123;
    public string ClickHouseDataPath { get; set; } = "data/clickhouse";

    /// <summary>Folder for the development certificate and the token store.</summary>
    public string DataPath { get; set; } = "data";

    public int ConnectorPort { get; set; } = 8443;
    public int ConnectorOpsPort { get; set; } = 9101;
    public int SinkOpsPort { get; set; } = 9102;
    public int DispatcherOpsPort { get; set; } = 9103;

    /// <summary>Simulated agents started with the pipeline (0 for none).</summary>
    public int SimulatedAgents { get; set; } = 20;

    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Seed of the simulated agents' tokens (their hashes go into the local token store).</summary>
    public string TokenSeed { get; set; } = "local-dev";

    /// <summary>
    /// Longest a stop (SIGTERM, SIGINT, Ctrl-C) may take: agents, then the services' drains, then the infrastructure.
    /// Past it the process exits with code 4. Default 25 s (a stop measured 3-6 s here).
    /// </summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Where <c>make infra</c> writes the endpoints as <c>StreamPipeline__...</c> variables.</summary>
    public string InfraEnvFile { get; set; } = "data/infra.env";

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (KafkaBrokers is < 1 or > 16) errors.Add($"LocalStack:KafkaBrokers must be 1..16, got {KafkaBrokers}.");
        if (SchemaRegistryPort is < 0 or > 65535) errors.Add($"LocalStack:SchemaRegistryPort must be 0..65535, got {SchemaRegistryPort}.");
        if (ClickHousePort is < 0 or > 65535) errors.Add($"LocalStack:ClickHousePort must be 0..65535, got {ClickHousePort}.");
        if (SimulatedAgents is < 0 or > 100_000) errors.Add($"LocalStack:SimulatedAgents must be 0..100000, got {SimulatedAgents}.");
        if (MetricsInterval <= TimeSpan.Zero) errors.Add($"LocalStack:MetricsInterval must be positive, got {MetricsInterval}.");
        if (StopTimeout <= TimeSpan.Zero || StopTimeout > TimeSpan.FromMinutes(10)) errors.Add($"LocalStack:StopTimeout must be 0..10 minutes (e.g. 00:00:25), got {StopTimeout}.");
        if (string.IsNullOrWhiteSpace(InfraEnvFile)) errors.Add("LocalStack:InfraEnvFile must name a file (e.g. data/infra.env).");
        if (string.IsNullOrWhiteSpace(ClickHouseDataPath)) errors.Add("LocalStack:ClickHouseDataPath must name a folder.");
        return errors;
    }
}
