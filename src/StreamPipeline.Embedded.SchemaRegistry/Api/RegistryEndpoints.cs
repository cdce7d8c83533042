using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.SchemaRegistry.Compatibility;
using StreamPipeline.Embedded.SchemaRegistry.Schemas;
using StreamPipeline.Embedded.SchemaRegistry.Storage;

namespace StreamPipeline.Embedded.SchemaRegistry.Api;

/// <summary>
/// The subset of Confluent Schema Registry's REST API that clients and serdes use.
/// Handlers throw <see cref="RegistryException"/>; <see cref="ErrorHandling"/> turns it into the error body.
/// </summary>
internal sealed class RegistryEndpoints(SchemaStore store, ILogger logger)
{
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", () => RegistryJson.Ok(new EmptyResponse()));

        routes.MapGet("/subjects", GetSubjects);
        routes.MapPost("/subjects/{subject}/versions", RegisterAsync);
        routes.MapGet("/subjects/{subject}/versions", GetVersions);
        routes.MapPost("/subjects/{subject}", LookupAsync);
        routes.MapDelete("/subjects/{subject}", DeleteSubject);
        routes.MapGet("/subjects/{subject}/versions/{version}", GetVersion);
        routes.MapGet("/subjects/{subject}/versions/{version}/schema", GetVersionSchema);
        routes.MapDelete("/subjects/{subject}/versions/{version}", DeleteVersion);

        routes.MapGet("/schemas/types", () => RegistryJson.Ok(new[] { "AVRO" }));
        routes.MapGet("/schemas/ids/{id:int}", GetSchemaById);
        routes.MapGet("/schemas/ids/{id:int}/versions", GetSchemaVersions);
        routes.MapGet("/schemas/ids/{id:int}/subjects", GetSchemaSubjects);

        routes.MapPost("/compatibility/subjects/{subject}/versions/{version}", TestCompatibilityAsync);
        routes.MapPost("/compatibility/subjects/{subject}/versions", TestCompatibilityWithAllAsync);

        routes.MapGet("/config", () => RegistryJson.Ok(new ConfigResponse(CompatibilityLevelNames.ToWireName(store.GlobalCompatibility))));
        routes.MapPut("/config", SetGlobalConfigAsync);
        routes.MapGet("/config/{subject}", GetSubjectConfig);
        routes.MapPut("/config/{subject}", SetSubjectConfigAsync);
        routes.MapDelete("/config/{subject}", DeleteSubjectConfig);

        // Clients from 2.16 on ask for topic-to-subject associations first; a 40401 makes them
        // fall back to the {topic}-value / {topic}-key naming.
        routes.Map("/associations/{**rest}", (Func<IResult>)NoAssociation);
    }

    private async Task<IResult> RegisterAsync(string subject, HttpRequest request, CancellationToken ct)
    {
        subject = RequestReader.Subject(subject);
        ParsedAvroSchema schema = Parse(await RequestReader.ReadSchemaAsync(request, ct));
        Registration registration;
        try
        {
            registration = store.Register(subject, schema);
        }
        catch (RegistryException ex) when (ex.ErrorCode == 409)
        {
            Log.SchemaRefused(logger, subject, ex.Message);
            throw;
        }

        if (registration.Created)
        {
            Log.SchemaRegistered(logger, subject, registration.Version.Version, registration.Version.Schema.Id);
        }

        return RegistryJson.Ok(new SchemaIdResponse(registration.Version.Schema.Id));
    }

    private async Task<IResult> LookupAsync(string subject, HttpRequest request, CancellationToken ct)
    {
        subject = RequestReader.Subject(subject);
        bool includeDeleted = RequestReader.Flag(request, "deleted");
        ParsedAvroSchema schema = Parse(await RequestReader.ReadSchemaAsync(request, ct));
        return Registered(store.Lookup(subject, schema, includeDeleted));
    }

    private IResult GetSubjects(HttpRequest request)
    {
        string? prefix = request.Query["subjectPrefix"];
        return RegistryJson.Ok(store.GetSubjects(RequestReader.Flag(request, "deleted"), string.IsNullOrEmpty(prefix) ? null : prefix));
    }

    private IResult GetVersions(string subject, HttpRequest request) =>
        RegistryJson.Ok(store.GetVersions(RequestReader.Subject(subject), RequestReader.Flag(request, "deleted")));

    private IResult GetVersion(string subject, string version, HttpRequest request) =>
        Registered(store.GetVersion(RequestReader.Subject(subject), RequestReader.Version(version), RequestReader.Flag(request, "deleted")));

    private IResult GetVersionSchema(string subject, string version, HttpRequest request)
    {
        SubjectVersion found = store.GetVersion(RequestReader.Subject(subject), RequestReader.Version(version), RequestReader.Flag(request, "deleted"));

        // Confluent answers with the schema document itself, not wrapped in an object.
        return Results.Text(found.Schema.Schema.Text, RegistryJson.ContentType, Encoding.UTF8);
    }

    private IResult DeleteSubject(string subject, HttpRequest request)
    {
        subject = RequestReader.Subject(subject);
        bool permanent = RequestReader.Flag(request, "permanent");
        List<int> versions = store.DeleteSubject(subject, permanent);
        Log.VersionsDeleted(logger, subject, versions, permanent);
        return RegistryJson.Ok(versions);
    }

    private IResult DeleteVersion(string subject, string version, HttpRequest request)
    {
        subject = RequestReader.Subject(subject);
        bool permanent = RequestReader.Flag(request, "permanent");
        int deleted = store.DeleteVersion(subject, RequestReader.Version(version), permanent);
        Log.VersionsDeleted(logger, subject, [deleted], permanent);
        return RegistryJson.Ok(deleted);
    }

    private IResult GetSchemaById(int id) =>
        // "subject" and "format" are accepted and ignored: without references an Avro schema
        // reads the same in every subject and format.
        RegistryJson.Ok(new SchemaResponse(store.GetSchema(id).Schema.Text));

    private IResult GetSchemaVersions(int id, HttpRequest request) =>
        RegistryJson.Ok(store.GetUsages(id, RequestReader.Flag(request, "deleted"))
            .ConvertAll(usage => new SubjectVersionResponse(usage.Subject, usage.Version)));

    private IResult GetSchemaSubjects(int id, HttpRequest request) =>
        RegistryJson.Ok(store.GetUsages(id, RequestReader.Flag(request, "deleted"))
            .ConvertAll(usage => usage.Subject).Distinct(StringComparer.Ordinal).ToList());

    private Task<IResult> TestCompatibilityAsync(string subject, string version, HttpRequest request, CancellationToken ct) =>
        CheckCompatibilityAsync(subject, RequestReader.Version(version), request, ct);

    private Task<IResult> TestCompatibilityWithAllAsync(string subject, HttpRequest request, CancellationToken ct) =>
        CheckCompatibilityAsync(subject, null, request, ct);

    private async Task<IResult> CheckCompatibilityAsync(string subject, VersionSelector? version, HttpRequest request, CancellationToken ct)
    {
        subject = RequestReader.Subject(subject);
        bool verbose = RequestReader.Flag(request, "verbose");
        ParsedAvroSchema schema = Parse(await RequestReader.ReadSchemaAsync(request, ct));
        (CompatibilityResult result, SchemaCompatibilityLevel level) = store.TestCompatibility(subject, version, schema);
        List<string>? messages = null;
        if (verbose)
        {
            messages = result.Issues.Select(issue => issue.ToString()).ToList();
            if (!result.IsCompatible)
            {
                messages.Add($"{{compatibility: '{CompatibilityLevelNames.ToWireName(level)}'}}");
            }
        }

        return RegistryJson.Ok(new CompatibilityCheckResponse(result.IsCompatible, messages));
    }

    private async Task<IResult> SetGlobalConfigAsync(HttpRequest request, CancellationToken ct)
    {
        SchemaCompatibilityLevel level = await RequestReader.ReadCompatibilityAsync(request, ct);
        store.GlobalCompatibility = level;
        string name = CompatibilityLevelNames.ToWireName(level);
        Log.CompatibilitySet(logger, "global", name);
        return RegistryJson.Ok(new ConfigUpdateResponse(name));
    }

    private IResult GetSubjectConfig(string subject, HttpRequest request)
    {
        subject = RequestReader.Subject(subject);
        SchemaCompatibilityLevel? level = store.GetSubjectCompatibility(subject);
        if (level is null)
        {
            level = RequestReader.Flag(request, "defaultToGlobal")
                ? store.GlobalCompatibility
                : throw RegistryErrors.SubjectCompatibilityNotConfigured(subject);
        }

        return RegistryJson.Ok(new ConfigResponse(CompatibilityLevelNames.ToWireName(level.Value)));
    }

    private async Task<IResult> SetSubjectConfigAsync(string subject, HttpRequest request, CancellationToken ct)
    {
        subject = RequestReader.Subject(subject);
        SchemaCompatibilityLevel level = await RequestReader.ReadCompatibilityAsync(request, ct);
        store.SetSubjectCompatibility(subject, level);
        string name = CompatibilityLevelNames.ToWireName(level);
        Log.CompatibilitySet(logger, subject, name);
        return RegistryJson.Ok(new ConfigUpdateResponse(name));
    }

    private IResult DeleteSubjectConfig(string subject)
    {
        subject = RequestReader.Subject(subject);
        SchemaCompatibilityLevel previous = store.RemoveSubjectCompatibility(subject);
        return RegistryJson.Ok(new ConfigResponse(CompatibilityLevelNames.ToWireName(previous)));
    }

    private static IResult NoAssociation() =>
        throw new RegistryException(404, 40401, "No association found; the embedded registry keeps none, so clients use {topic}-value / {topic}-key subjects.");

    private static ParsedAvroSchema Parse(string text) =>
        AvroSchemaParser.TryParse(text, out ParsedAvroSchema? schema, out string? error)
            ? schema
            : throw RegistryErrors.InvalidSchema($"{error}. The \"schema\" field must hold a valid Avro schema.");

    private static IResult Registered(SubjectVersion version) =>
        RegistryJson.Ok(new RegisteredSchemaResponse(version.Subject, version.Version, version.Schema.Id, version.Schema.Schema.Text));
}
