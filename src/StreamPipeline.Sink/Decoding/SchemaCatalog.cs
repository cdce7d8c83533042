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
        catch (JsonException)
        {
            canonical = "";
        }

        match = string.Equals(canonical, kind == RecordKind.Metrics ? _metrics : _presence, StringComparison.Ordinal) ? SchemaMatch.Known : SchemaMatch.Unknown;
        _known[(schemaId, kind)] = match;
        return match;
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The schema as compact JSON without <c>doc</c> attributes: what decides the binary layout.</summary>
    internal static string Canonical(string schemaJson)
    {
        using var document = JsonDocument.Parse(schemaJson);
        var output = new MemoryStream();
        using (var writer = new Utf8JsonWriter(output))
        {
            Write(document.RootElement, writer);
        }

        return Encoding.UTF8.GetString(output.ToArray());

        static void Write(JsonElement element, Utf8JsonWriter writer)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.NameEquals("doc")) continue;
                        writer.WritePropertyName(property.Name);
                        Write(property.Value, writer);
                    }

                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var item in element.EnumerateArray()) Write(item, writer);
                    writer.WriteEndArray();
                    break;
                default:
                    element.WriteTo(writer);
                    break;
            }
        }
    }
}

/// <summary>The Schema Registry could not be asked about a schema id.</summary>
internal sealed class SchemaRegistryUnavailableException(int schemaId, Exception inner)
    : Exception($"The Schema Registry did not answer for schema id {schemaId}: {inner.Message}", inner);
