using System.Text.Json.Serialization;

namespace StreamPipeline.Embedded.SchemaRegistry.Api;

// The JSON shapes of Confluent Schema Registry's REST API (v1). schemaType is never written:
// Confluent omits it for AVRO, the only type stored here.

internal sealed record ErrorResponse(
    [property: JsonPropertyName("error_code")] int ErrorCode,
    [property: JsonPropertyName("message")] string Message);

internal sealed record EmptyResponse;

internal sealed record SchemaIdResponse([property: JsonPropertyName("id")] int Id);

internal sealed record SchemaResponse([property: JsonPropertyName("schema")] string Schema);

internal sealed record RegisteredSchemaResponse(
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("schema")] string Schema);

internal sealed record SubjectVersionResponse(
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("version")] int Version);

internal sealed record CompatibilityCheckResponse(
    [property: JsonPropertyName("is_compatible")] bool IsCompatible,
    [property: JsonPropertyName("messages")] IReadOnlyList<string>? Messages);

/// <summary>GET /config answers with "compatibilityLevel"...</summary>
internal sealed record ConfigResponse([property: JsonPropertyName("compatibilityLevel")] string CompatibilityLevel);

/// <summary>...while PUT /config takes and answers "compatibility", as Confluent does.</summary>
internal sealed record ConfigUpdateResponse([property: JsonPropertyName("compatibility")] string Compatibility);
