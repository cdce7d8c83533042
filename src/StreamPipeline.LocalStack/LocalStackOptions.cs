namespace StreamPipeline.LocalStack;

/// <summary>Settings of <c>make run</c> (section <c>LocalStack</c>; e.g. <c>--LocalStack:ClickHousePort=18123</c>).</summary>
internal sealed class LocalStackOptions
{
    public int KafkaBrokers { get; set; } = 3;
    public int SchemaRegistryPort { get; set; } = 8081;
    public int ClickHousePort { get; set; } = 8123;
    public string ClickHouseDataPath { get; set; } = "data/clickhouse";

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (KafkaBrokers is < 1 or > 16) errors.Add($"LocalStack:KafkaBrokers must be 1..16, got {KafkaBrokers}.");
        if (SchemaRegistryPort is < 0 or > 65535) errors.Add($"LocalStack:SchemaRegistryPort must be 0..65535, got {SchemaRegistryPort}.");
        if (ClickHousePort is < 0 or > 65535) errors.Add($"LocalStack:ClickHousePort must be 0..65535, got {ClickHousePort}.");
        if (string.IsNullOrWhiteSpace(ClickHouseDataPath)) errors.Add("LocalStack:ClickHouseDataPath must name a folder.");
        return errors;
    }
}
