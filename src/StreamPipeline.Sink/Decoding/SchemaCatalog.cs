using System.Text;
using System.Text.Json;
using Confluent.SchemaRegistry;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Decoding;

/// <summary>What the sink does with records framed with one schema id.</summary>
/// <param name="Decode">False: dead-letter them (the registry does not know the id).</param>
/// <param name="Plan">Null when the writer schema is the sink's own layout (decoded as is); else the schema-resolution transcoder.</param>
internal sealed record SchemaResolution(bool Decode, Transcoder? Plan)
{
    public static readonly SchemaResolution Identity = new(true, null);

    public static readonly SchemaResolution Unknown = new(false, null);
}

/// <summary>
/// Decides, once per schema id, how records framed with it are read: it fetches the writer schema from the Schema
/// Registry; the sink's own layout (the embedded schemas/avro file, docs ignored) is decoded as is, any other
/// compatible writer through Avro schema resolution (<see cref="AvroResolver"/>), an incompatible one stops the
/// worker (<see cref="SchemaIncompatibleException"/>). Registry outages are retried by the caller
/// (<see cref="SchemaRegistryUnavailableException"/>), never turned into dead letters; so is a 404 for
/// <c>Sink:SchemaNotFoundGrace</c> (a producer registers and produces; a registry replica may lag), after which the
/// id is dead-lettered and asked again at most once per grace period.
/// </summary>
internal sealed class SchemaCatalog : IDisposable
{
    private readonly ISchemaRegistryClient _client;
    private readonly TimeProvider _time;
    private readonly TimeSpan _notFoundGrace;
    private readonly Dictionary<(int Id, RecordKind Kind), SchemaResolution> _known = [];
    private readonly Dictionary<int, (long FirstNotFound, long RetryAt)> _notFound = [];

    public SchemaCatalog(ISchemaRegistryClient client, TimeProvider time, TimeSpan notFoundGrace)
    {
        _client = client;
        _time = time;
        _notFoundGrace = notFoundGrace;
    }

    public SchemaCatalog(string registryUrl, TimeProvider time, TimeSpan notFoundGrace)
        : this(new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registryUrl, RequestTimeoutMs = 10_000 }), time, notFoundGrace)
    {
    }

    /// <summary>The sink's reader schema of a kind (<see cref="RecordKind.ReaderSchema"/>); the connector's dead letters have none.</summary>
    internal static AvroSchemaNode ReaderSchema(RecordKind kind) =>
        kind.ReaderSchema ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "This record kind has no Avro schema.");

    /// <summary>Called on the consumer thread; blocks only the first time an id is seen.</summary>
    /// <exception cref="SchemaRegistryUnavailableException">The registry did not answer (or not yet knows the id); try again later.</exception>
    /// <exception cref="SchemaIncompatibleException">The writer schema cannot be read by this sink: stop.</exception>
    public SchemaResolution Resolve(int schemaId, RecordKind kind)
    {
        if (_known.TryGetValue((schemaId, kind), out var match)) return match;
        var now = _time.GetTimestamp();
        if (_notFound.TryGetValue(schemaId, out var missing) && missing.RetryAt != 0 && now < missing.RetryAt) return SchemaResolution.Unknown;
        string text;
        try
        {
            // The consumer loop is a dedicated thread with nothing else to do until this record is classified.
            text = _client.GetSchemaAsync(schemaId).ConfigureAwait(false).GetAwaiter().GetResult().SchemaString;
        }
        catch (SchemaRegistryException e) when (e.ErrorCode is 40403 || e.Status == System.Net.HttpStatusCode.NotFound)
        {
            if (!_notFound.TryGetValue(schemaId, out missing)) missing = (now, 0);
            if (missing.RetryAt == 0 && _time.GetElapsedTime(missing.FirstNotFound) < _notFoundGrace)
            {
                _notFound[schemaId] = missing;
                throw new SchemaRegistryUnavailableException(schemaId, e) { NotFound = true };
            }

            var retryAt = now + (long)(_notFoundGrace.TotalSeconds * _time.TimestampFrequency);
            _notFound[schemaId] = (missing.FirstNotFound, retryAt);
            return SchemaResolution.Unknown;
        }
        catch (Exception e) when (e is HttpRequestException or SchemaRegistryException or TaskCanceledException or TimeoutException)
        {
            throw new SchemaRegistryUnavailableException(schemaId, e);
        }

        _notFound.Remove(schemaId);
        match = Compile(schemaId, kind, text);
        _known[(schemaId, kind)] = match;
        return match;
    }

    private static SchemaResolution Compile(int schemaId, RecordKind kind, string text)
    {
        var identity = kind.IdentityLayout;
        try
        {
            if (identity is not null && string.Equals(Canonical(text), identity, StringComparison.Ordinal)) return SchemaResolution.Identity;
            return new SchemaResolution(true, AvroResolver.Compile(AvroSchemaNode.Parse(text), ReaderSchema(kind)));
        }
        catch (AvroIncompatibleException e)
        {
            throw new SchemaIncompatibleException(schemaId, kind, e.Message, e);
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SchemaIncompatibleException(schemaId, kind, "the registry's schema text is not an Avro schema (" + e.Message + ")", e);
        }
    }

    public void Dispose() => _client.Dispose();

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

/// <summary>A writer schema the sink cannot read: the worker stops rather than dead-letter every record of a topic.</summary>
internal sealed class SchemaIncompatibleException(int schemaId, RecordKind kind, string why, Exception inner)
    : Exception($"Schema id {schemaId} on the {kind} topic cannot be read by this sink: {why}. To fix: deploy the sink version whose schemas/avro has this change (upgrade sinks before producers), " +
        "or register a writer schema that only adds fields with defaults or removes fields the sink does not need (Schema Registry compatibility BACKWARD or FULL keeps that from happening); " +
        "nothing is committed past this record, so the sink resumes here once it can read it.", inner)
{
    public int SchemaId { get; } = schemaId;
}

/// <summary>The Schema Registry could not be asked about a schema id.</summary>
internal sealed class SchemaRegistryUnavailableException(int schemaId, Exception inner)
    : Exception($"The Schema Registry did not answer for schema id {schemaId}: {inner.Message}", inner)
{
    /// <summary>The registry answered 404 (not yet registered, or a replica lagging), within <c>Sink:SchemaNotFoundGrace</c>.</summary>
    public bool NotFound { get; init; }
}
