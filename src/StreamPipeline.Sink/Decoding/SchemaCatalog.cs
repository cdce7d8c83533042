using System.Text;
using System.Text.Json;
using Confluent.SchemaRegistry;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Decoding;

/// <summary>How a schema id in a record's framing relates to what the sink decodes.</summary>
internal enum SchemaMatch
{
    /// <summary>The registry's schema for the id is the sink's schema for that topic (docs ignored): decode.</summary>
    Known,

    /// <summary>The id is unknown to the registry or names another schema: dead-letter the record.</summary>
    Unknown,
}

/// <summary>
/// Decides, once per schema id, whether records framed with it have the layout the sink decodes: it fetches the schema
/// from the Schema Registry and compares it, without docs, with the embedded schemas/avro file. Registry outages are
/// retried by the caller (<see cref="SchemaRegistryUnavailableException"/>), never turned into dead letters.
/// </summary>
internal sealed class SchemaCatalog : IDisposable
{
    private readonly ISchemaRegistryClient _client;
    private readonly Dictionary<(int Id, RecordKind Kind), SchemaMatch> _known = [];
    private readonly string _metrics = Canonical(AvroSchemas.MetricsSampleJson);
    private readonly string _presence = Canonical(AvroSchemas.AgentPresenceJson);
    private readonly string _commandResult = Canonical(CommandResultSchemaJson());

    public SchemaCatalog(ISchemaRegistryClient client) => _client = client;

    public SchemaCatalog(string registryUrl)
        : this(new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registryUrl, RequestTimeoutMs = 10_000 }))
    {
    }

    /// <summary>Called on the consumer thread; blocks only the first time an id is seen.</summary>
    /// <exception cref="SchemaRegistryUnavailableException">The registry did not answer; try again later.</exception>
    public SchemaMatch Resolve(int schemaId, RecordKind kind)
    {
        if (_known.TryGetValue((schemaId, kind), out var match)) return match;
        string text;
        try
        {
            // The consumer loop is a dedicated thread with nothing else to do until this record is classified.
            text = _client.GetSchemaAsync(schemaId).ConfigureAwait(false).GetAwaiter().GetResult().SchemaString;
        }
        catch (SchemaRegistryException e) when (e.ErrorCode is 40403 || e.Status == System.Net.HttpStatusCode.NotFound)
        {
            _known[(schemaId, kind)] = SchemaMatch.Unknown;
            return SchemaMatch.Unknown;
        }
        catch (Exception e) when (e is HttpRequestException or SchemaRegistryException or TaskCanceledException or TimeoutException)
        {
            throw new SchemaRegistryUnavailableException(schemaId, e);
        }

        string canonical;
        try
        {
            canonical = Canonical(text);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            canonical = "";
        }

        var expected = kind switch
        {
            RecordKind.Metrics => _metrics,
            RecordKind.Presence => _presence,
            _ => _commandResult,
        };
        match = string.Equals(canonical, expected, StringComparison.Ordinal) ? SchemaMatch.Known : SchemaMatch.Unknown;
        _known[(schemaId, kind)] = match;
        return match;
    }

    public void Dispose() => _client.Dispose();

    /// <summary>schemas/avro/command-result.avsc as embedded in StreamPipeline.Kafka (the command contracts' home).</summary>
    internal static string CommandResultSchemaJson()
    {
        const string name = "StreamPipeline.Kafka.Schemas.command-result.avsc";
        using var stream = typeof(Kafka.Contracts.ContractCodec).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded schema '{name}' is missing from StreamPipeline.Kafka.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The binary layout a schema describes: the record's name, then field names and types in order (unions, enum
    /// symbols, array items), ignoring docs, defaults, logical types, namespaces and JSON formatting, so the text the
    /// registry returns (e.g. re-serialized by Apache.Avro) compares equal to the .avsc file when it decodes the same.
    /// </summary>
    internal static string Canonical(string schemaJson)
    {
        using var document = JsonDocument.Parse(schemaJson);
        var layout = new StringBuilder();
        Write(document.RootElement, layout);
        return layout.ToString();

        static void Write(JsonElement type, StringBuilder layout)
        {
            switch (type.ValueKind)
            {
                case JsonValueKind.String:
                    var name = type.GetString() ?? "";
                    layout.Append(name[(name.LastIndexOf('.') + 1)..]);
                    break;
                case JsonValueKind.Array:
                    layout.Append("union[");
                    foreach (var branch in type.EnumerateArray())
                    {
                        Write(branch, layout);
                        layout.Append(',');
                    }

                    layout.Append(']');
                    break;
                case JsonValueKind.Object:
                    var kind = type.TryGetProperty("type", out var t) ? t : default;
                    if (kind.ValueKind != JsonValueKind.String)
                    {
                        Write(kind, layout);
                        break;
                    }

                    switch (kind.GetString())
                    {
                        case "record":
                            var recordName = type.GetProperty("name").GetString() ?? "";
                            layout.Append("record ").Append(recordName[(recordName.LastIndexOf('.') + 1)..]).Append('{');
                            foreach (var field in type.GetProperty("fields").EnumerateArray())
                            {
                                layout.Append(field.GetProperty("name").GetString()).Append(':');
                                Write(field.GetProperty("type"), layout);
                                layout.Append(';');
                            }

                            layout.Append('}');
                            break;
                        case "enum":
                            layout.Append("enum(");
                            foreach (var symbol in type.GetProperty("symbols").EnumerateArray()) layout.Append(symbol.GetString()).Append(',');
                            layout.Append(')');
                            break;
                        case "array":
                            layout.Append("array<");
                            Write(type.GetProperty("items"), layout);
                            layout.Append('>');
                            break;
                        case "map":
                            layout.Append("map<");
                            Write(type.GetProperty("values"), layout);
                            layout.Append('>');
                            break;
                        case "fixed":
                            layout.Append("fixed(").Append(type.GetProperty("size").GetInt32()).Append(')');
                            break;
                        default:
                            Write(kind, layout);
                            break;
                    }

                    break;
                default:
                    throw new JsonException("Not an Avro schema: " + type.ValueKind);
            }
        }
    }
}

/// <summary>The Schema Registry could not be asked about a schema id.</summary>
internal sealed class SchemaRegistryUnavailableException(int schemaId, Exception inner)
    : Exception($"The Schema Registry did not answer for schema id {schemaId}: {inner.Message}", inner);
