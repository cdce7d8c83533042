using System.Text;

namespace StreamPipeline.LocalStack;

/// <summary>
/// <c>make infra</c>'s output for services run as their own processes: the embedded endpoints as the
/// <c>StreamPipeline__Section__Key</c> variables every service reads, one <c>KEY='value'</c> a line
/// (<c>set -a; . data/infra.env; set +a</c> in a shell).
/// </summary>
internal static class InfraEnvironmentFile
{
    public static IReadOnlyList<KeyValuePair<string, string>> Variables(EmbeddedInfrastructure infra) =>
    [
        new("StreamPipeline__Kafka__BootstrapServers", infra.Kafka.BootstrapServers),
        new("StreamPipeline__Kafka__SchemaRegistryUrl", infra.SchemaRegistry.Url.ToString()),
        new("StreamPipeline__ClickHouse__ConnectionString", infra.ClickHouse.ConnectionString),
    ];

    public static string Write(string path, EmbeddedInfrastructure infra)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var text = new StringBuilder("# Written by `make infra`: the embedded Kafka, Schema Registry and ClickHouse of this run.\n");
        foreach (var (key, value) in Variables(infra)) text.Append(key).Append("='").Append(value.Replace("'", "'\\''", StringComparison.Ordinal)).Append("'\n");
        var temporary = full + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, full, overwrite: true);
        return full;
    }
}
