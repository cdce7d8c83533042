namespace StreamPipeline.Protocol;

/// <summary>One file of schemas/avro: its name, the full name of its record and its text, exactly as in the file.</summary>
public sealed class AvroSchemaFile
{
    internal AvroSchemaFile(string fileName, string fullName, string json)
    {
        FileName = fileName;
        FullName = fullName;
        Json = json;
    }

    /// <summary>The file name in schemas/avro, e.g. <c>metrics-sample.avsc</c>.</summary>
    public string FileName { get; }

    /// <summary>The record's full name, e.g. <c>streampipeline.v1.MetricsSample</c>.</summary>
    public string FullName { get; }

    /// <summary>The schema's text, verbatim (what the services register and parse).</summary>
    public string Json { get; }

    /// <inheritdoc />
    public override string ToString() => FileName;
}

/// <summary>
/// The Avro schemas of schemas/avro/*.avsc (the source of truth), embedded in this assembly only, verbatim: the
/// connector registers exactly what the hand-written writers encode, the command contracts
/// (<c>StreamPipeline.Kafka.Contracts.ContractCodec</c>) parse them, and the sink reads with them. Ask for a schema by
/// its property, never by a resource name.
/// </summary>
public static class AvroSchemas
{
    /// <summary><c>metrics-sample.avsc</c>: one metrics sample, on the metrics topic.</summary>
    public static AvroSchemaFile MetricsSample { get; } = Load("metrics-sample.avsc", "streampipeline.v1.MetricsSample");

    /// <summary><c>agent-presence.avsc</c>: a session's start or end, on <c>agent-presence</c>.</summary>
    public static AvroSchemaFile AgentPresence { get; } = Load("agent-presence.avsc", "streampipeline.v1.AgentPresence");

    /// <summary><c>agent-command.avsc</c>: a command for one agent, on <c>agent-commands</c>.</summary>
    public static AvroSchemaFile AgentCommand { get; } = Load("agent-command.avsc", "streampipeline.v1.AgentCommand");

    /// <summary><c>command-result.avsc</c>: the one terminal result of a command, on <c>command-results</c>.</summary>
    public static AvroSchemaFile CommandResult { get; } = Load("command-result.avsc", "streampipeline.v1.CommandResult");

    /// <summary><c>connector-request.avsc</c> (internal): a request routed to the connector that owns the agent.</summary>
    public static AvroSchemaFile ConnectorRequest { get; } = Load("connector-request.avsc", "streampipeline.v1.ConnectorRequest");

    /// <summary><c>connector-response.avsc</c> (internal): a connector's report to the dispatcher.</summary>
    public static AvroSchemaFile ConnectorResponse { get; } = Load("connector-response.avsc", "streampipeline.v1.ConnectorResponse");

    /// <summary><c>dispatcher-state.avsc</c> (internal): a dispatcher's per-partition state, on <c>dispatcher-state</c>.</summary>
    public static AvroSchemaFile DispatcherState { get; } = Load("dispatcher-state.avsc", "streampipeline.v1.DispatcherPartitionState");

    /// <summary>Every file of schemas/avro, in the order above.</summary>
    public static IReadOnlyList<AvroSchemaFile> All { get; } = [MetricsSample, AgentPresence, AgentCommand, CommandResult, ConnectorRequest, ConnectorResponse, DispatcherState];

    private static AvroSchemaFile Load(string fileName, string fullName)
    {
        var name = "StreamPipeline.Protocol.Avro.Schemas." + fileName;
        using var stream = typeof(AvroSchemas).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded schema '{name}' is missing: check the EmbeddedResource of schemas/avro in StreamPipeline.Protocol.csproj.");
        using var reader = new StreamReader(stream);
        return new AvroSchemaFile(fileName, fullName, reader.ReadToEnd());
    }
}
