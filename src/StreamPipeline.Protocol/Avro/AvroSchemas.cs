
namespace StreamPipeline.Protocol;

/// <summary>
/// The Avro schemas of schemas/avro/*.avsc (the source of truth), embedded in this assembly verbatim, so the connector
/// registers exactly what the hand-written writers in this folder encode.
/// </summary>
public static class AvroSchemas
{
    /// <summary>Full name of the metrics record.</summary>
    public const string MetricsSampleFullName = "streampipeline.v1.MetricsSample";

    /// <summary>Full name of the presence record.</summary>
    public const string AgentPresenceFullName = "streampipeline.v1.AgentPresence";

    /// <summary>The text of <c>metrics-sample.avsc</c>.</summary>
    public static string MetricsSampleJson { get; } = Load("metrics-sample.avsc");

    /// <summary>The text of <c>agent-presence.avsc</c>.</summary>
    public static string AgentPresenceJson { get; } = Load("agent-presence.avsc");

    private static string Load(string fileName)
    {
        var name = "StreamPipeline.Protocol.Avro.Schemas." + fileName;
        using var stream = typeof(AvroSchemas).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded schema '{name}' is missing: check the EmbeddedResource of schemas/avro in StreamPipeline.Protocol.csproj.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
