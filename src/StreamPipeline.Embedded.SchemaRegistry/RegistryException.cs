namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>
/// An error the REST API reports to the client as Confluent does:
/// HTTP <see cref="HttpStatus"/> with body <c>{"error_code": ErrorCode, "message": Message}</c>.
/// </summary>
internal sealed class RegistryException(int httpStatus, int errorCode, string message) : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public int ErrorCode { get; } = errorCode;
}

/// <summary>The errors of Confluent's REST API, with its codes and messages (plus what to do).</summary>
internal static class RegistryErrors
{
    public static RegistryException SubjectNotFound(string subject) =>
        new(404, 40401, $"Subject '{subject}' not found.");

    public static RegistryException VersionNotFound(string subject, int version) =>
        new(404, 40402, $"Version {version} not found for subject '{subject}'.");

    public static RegistryException SchemaNotFound(int id) =>
        new(404, 40403, $"Schema {id} not found");

    public static RegistryException SchemaNotFoundInSubject(string subject) =>
        new(404, 40403, $"Schema not found under subject '{subject}'; register it first with POST /subjects/{{subject}}/versions.");

    public static RegistryException SubjectSoftDeleted(string subject) =>
        new(404, 40404, $"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently");

    public static RegistryException SubjectNotSoftDeleted(string subject) =>
        new(404, 40405, $"Subject '{subject}' was not deleted first before being permanently deleted; delete it without permanent=true first.");

    public static RegistryException VersionSoftDeleted(string subject, int version) =>
        new(404, 40406, $"Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently");

    public static RegistryException VersionNotSoftDeleted(string subject, int version) =>
        new(404, 40407, $"Subject '{subject}' Version {version} was not deleted first before being permanently deleted; delete it without permanent=true first.");

    public static RegistryException SubjectCompatibilityNotConfigured(string subject) =>
        new(404, 40408, $"Subject '{subject}' does not have subject-level compatibility configured; add defaultToGlobal=true to get the global level.");

    public static RegistryException Incompatible(string message) => new(409, 409, message);

    public static RegistryException InvalidSchema(string detail) =>
        new(422, 42201, $"Invalid schema: {detail}");

    public static RegistryException InvalidVersion(string version) =>
        new(422, 42202, $"The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"");

    public static RegistryException InvalidCompatibilityLevel(string? level) =>
        new(422, 42203, $"Invalid compatibility level '{level}'. Valid values are {Compatibility.CompatibilityLevelNames.ValidNames}, sent as {{\"compatibility\": \"BACKWARD\"}}.");

    public static RegistryException MalformedBody(string detail) =>
        new(400, 400, $"Malformed request body: {detail}");

    public static RegistryException UnsupportedMediaType(string? contentType) =>
        new(415, 415, $"HTTP 415 Unsupported Media Type: '{contentType}'. Send application/vnd.schemaregistry.v1+json or application/json.");

    public static RegistryException InvalidQueryParameter(string name, string value) =>
        new(400, 400, $"Query parameter '{name}' must be true or false (was '{value}').");
}
