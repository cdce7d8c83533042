using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using StreamPipeline.Embedded.SchemaRegistry.Storage;

namespace StreamPipeline.Embedded.SchemaRegistry.Api;

/// <summary>Reads request bodies, query flags and route values, turning bad input into Confluent errors.</summary>
internal static class RequestReader
{
    private const string SchemaExample = "{\"schema\": \"<the Avro schema as a JSON string>\"}";
    private const string ConfigExample = "{\"compatibility\": \"BACKWARD\"}";

    private static readonly string[] AcceptedMediaTypes =
    [
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
        "application/json",
        "application/octet-stream",
    ];

    /// <summary>Returns the "schema" string of a register/lookup/compatibility request body.</summary>
    public static async Task<string> ReadSchemaAsync(HttpRequest request, CancellationToken ct)
    {
        using JsonDocument document = await ReadObjectAsync(request, SchemaExample, ct);
        JsonElement root = document.RootElement;
        if (!root.TryGetProperty("schema", out JsonElement schema))
        {
            throw RegistryErrors.InvalidSchema($"the request body has no \"schema\" field; send {SchemaExample}.");
        }

        if (schema.ValueKind != JsonValueKind.String)
        {
            throw RegistryErrors.InvalidSchema(
                $"\"schema\" must be a JSON string holding the Avro schema, but it is a JSON {Describe(schema.ValueKind)}; " +
                "serialize the schema to text and send that text as the string value.");
        }

        if (root.TryGetProperty("schemaType", out JsonElement schemaType) && schemaType.ValueKind != JsonValueKind.Null &&
            !(schemaType.ValueKind == JsonValueKind.String && string.Equals(schemaType.GetString(), "AVRO", StringComparison.OrdinalIgnoreCase)))
        {
            throw RegistryErrors.InvalidSchema(
                $"schemaType {schemaType.GetRawText()} is not supported; the embedded registry stores AVRO schemas only.");
        }

        if (root.TryGetProperty("references", out JsonElement references) &&
            references.ValueKind == JsonValueKind.Array && references.GetArrayLength() > 0)
        {
            throw RegistryErrors.InvalidSchema(
                "schema references are not supported by the embedded registry; define the referenced types inline.");
        }

        return schema.GetString()!;
    }

    /// <summary>Returns the level named by a PUT /config body.</summary>
    public static async Task<SchemaCompatibilityLevel> ReadCompatibilityAsync(HttpRequest request, CancellationToken ct)
    {
        using JsonDocument document = await ReadObjectAsync(request, ConfigExample, ct);
        if (!document.RootElement.TryGetProperty("compatibility", out JsonElement value) ||
            value.ValueKind != JsonValueKind.String)
        {
            throw RegistryErrors.InvalidCompatibilityLevel(value.ValueKind == JsonValueKind.Undefined ? null : value.GetRawText());
        }

        string? name = value.GetString();
        return Compatibility.CompatibilityLevelNames.TryParse(name, out SchemaCompatibilityLevel level)
            ? level
            : throw RegistryErrors.InvalidCompatibilityLevel(name);
    }

    /// <summary>Reads a boolean query parameter such as <c>deleted=true</c>; absent means false.</summary>
    public static bool Flag(HttpRequest request, string name)
    {
        string? value = request.Query[name];
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        return bool.TryParse(value, out bool flag) ? flag : throw RegistryErrors.InvalidQueryParameter(name, value);
    }

    /// <summary>Parses a version route value: a positive number, "latest" or -1 (Confluent's alias for latest).</summary>
    public static VersionSelector Version(string text)
    {
        if (string.Equals(text, "latest", StringComparison.OrdinalIgnoreCase) || text == "-1")
        {
            return VersionSelector.Latest;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int number) && number >= 1
            ? new VersionSelector(number)
            : throw RegistryErrors.InvalidVersion(text);
    }

    /// <summary>
    /// Kestrel decodes every escape in the path except %2F, so a subject holding '/' (sent by
    /// the client through Uri.EscapeDataString) still carries it encoded in the route value.
    /// </summary>
    public static string Subject(string routeValue) =>
        routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, string example, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(request.ContentType) &&
            !(MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? mediaType) &&
              Array.Exists(AcceptedMediaTypes, accepted => mediaType.MediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase))))
        {
            throw RegistryErrors.UnsupportedMediaType(request.ContentType);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, ct);
        }
        catch (JsonException ex)
        {
            throw RegistryErrors.MalformedBody($"the body is not valid JSON ({ex.Message}). Send a JSON object such as {example}.");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw RegistryErrors.MalformedBody($"expected a JSON object such as {example}, but the body is a JSON {Describe(kind)}.");
        }

        return document;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };
}
