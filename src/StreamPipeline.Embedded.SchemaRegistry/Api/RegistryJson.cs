using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace StreamPipeline.Embedded.SchemaRegistry.Api;

internal static class RegistryJson
{
    public const string ContentType = "application/vnd.schemaregistry.v1+json";

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static IResult Ok<T>(T value) => Results.Json(value, Options, ContentType, StatusCodes.Status200OK);
}
