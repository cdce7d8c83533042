using System.Net;
using System.Text.Json;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Api;

/// <summary>The REST API spoken directly, checking Confluent's JSON shapes, status codes and error bodies.</summary>
public sealed class RestApiTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    private readonly HttpClient _http = fixture.Http;

    [Fact]
    public async Task GetRoot_Always_ReturnsEmptyObject()
    {
        var response = await _http.SendAsync(HttpMethod.Get, "/");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(HttpAssertions.RegistryContentType, response.ContentType);
        Assert.Equal(JsonValueKind.Object, response.Body.ValueKind);
        Assert.Empty(response.Body.EnumerateObject());
    }

    [Fact]
    public async Task Register_SameSchemaTwice_ReturnsSameIdAndOneVersion()
    {
        string subject = RegistryFixture.NewSubject();

        var first = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions?normalize=False", TestSchemas.Body(TestSchemas.UserV1));
        var second = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions?normalize=true", TestSchemas.Body(TestSchemas.UserV1));
        var versions = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpAssertions.RegistryContentType, first.ContentType);
        Assert.Equal(first.Body.GetProperty("id").GetInt32(), second.Body.GetProperty("id").GetInt32());
        Assert.Equal("[1]", versions.Body.GetRawText());
    }

    [Fact]
    public async Task Register_WhitespaceAndKeyOrderDiffer_ReturnsSameId()
    {
        string subject = RegistryFixture.NewSubject();
        const string reordered = """
            { "fields": [ { "type": "string", "name": "name" } ], "namespace": "tests", "name": "User", "type": "record" }
            """;

        var first = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));
        var second = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(reordered));

        Assert.Equal(first.Body.GetProperty("id").GetInt32(), second.Body.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task Register_SameSchemaUnderTwoSubjects_SharesGlobalId()
    {
        var first = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(TestSchemas.UserV2WithDefault));
        var second = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(TestSchemas.UserV2WithDefault));

        int id = first.Body.GetProperty("id").GetInt32();
        Assert.Equal(id, second.Body.GetProperty("id").GetInt32());
        var usages = await _http.SendAsync(HttpMethod.Get, $"/schemas/ids/{id}/versions");
        Assert.Equal(2, usages.Body.GetArrayLength());
    }

    [Fact]
    public async Task Register_ApplicationJsonContentType_IsAccepted()
    {
        var response = await _http.SendAsync(
            HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(TestSchemas.UserV1), "application/json");

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task GetVersion_LatestAndNumber_ReturnSubjectVersionIdSchema()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));
        var v2 = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV2WithDefault));

        var latest = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/latest");
        var first = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/1");
        var rawSchema = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/2/schema");

        Assert.Equal(subject, latest.Body.GetProperty("subject").GetString());
        Assert.Equal(2, latest.Body.GetProperty("version").GetInt32());
        Assert.Equal(v2.Body.GetProperty("id").GetInt32(), latest.Body.GetProperty("id").GetInt32());
        Assert.Equal(TestSchemas.UserV2WithDefault, latest.Body.GetProperty("schema").GetString());
        Assert.False(latest.Body.TryGetProperty("schemaType", out _));
        Assert.Equal(1, first.Body.GetProperty("version").GetInt32());
        Assert.Equal("User", rawSchema.Body.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Lookup_RegisteredSchema_ReturnsSubjectIdVersionSchema()
    {
        string subject = RegistryFixture.NewSubject();
        var registered = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var found = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}?normalize=False&deleted=False", TestSchemas.Body(TestSchemas.UserV1));

        Assert.Equal(HttpStatusCode.OK, found.Status);
        Assert.Equal(subject, found.Body.GetProperty("subject").GetString());
        Assert.Equal(registered.Body.GetProperty("id").GetInt32(), found.Body.GetProperty("id").GetInt32());
        Assert.Equal(1, found.Body.GetProperty("version").GetInt32());
        Assert.Equal(TestSchemas.UserV1, found.Body.GetProperty("schema").GetString());
    }

    [Fact]
    public async Task Lookup_UnknownSubject_Returns40401ThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}?normalize=False&deleted=False", TestSchemas.Body(TestSchemas.UserV1));

        response.AssertError(HttpStatusCode.NotFound, 40401);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Lookup_SchemaNotInSubject_Returns40403()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}", TestSchemas.Body(TestSchemas.UserV2WithDefault));

        response.AssertError(HttpStatusCode.NotFound, 40403);
    }

    [Fact]
    public async Task Register_IncompatibleChange_Returns409WithDetails()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV2WithoutDefault));

        string message = response.AssertError(HttpStatusCode.Conflict, 409);
        Assert.StartsWith($"Schema being registered is incompatible with an earlier schema for subject \"{subject}\"", message, StringComparison.Ordinal);
        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", message, StringComparison.Ordinal);
        Assert.Contains("'age'", message, StringComparison.Ordinal);
        Assert.Contains("BACKWARD", message, StringComparison.Ordinal);
        var versions = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions");
        Assert.Equal("[1]", versions.Body.GetRawText());
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_CompatibleChange_AddsVersion2()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV2WithDefault));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var versions = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions");
        Assert.Equal("[1,2]", versions.Body.GetRawText());
    }

    [Fact]
    public async Task CheckCompatibility_VerboseIncompatible_ReturnsFalseWithMessages()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var bad = await _http.SendAsync(HttpMethod.Post, $"/compatibility/subjects/{subject}/versions/latest?verbose=true", TestSchemas.Body(TestSchemas.UserNameAsInt));
        var good = await _http.SendAsync(HttpMethod.Post, $"/compatibility/subjects/{subject}/versions/1", TestSchemas.Body(TestSchemas.UserV2WithDefault));

        Assert.False(bad.Body.GetProperty("is_compatible").GetBoolean());
        Assert.Contains(bad.Body.GetProperty("messages").EnumerateArray(), m => m.GetString()!.Contains("TYPE_MISMATCH", StringComparison.Ordinal));
        Assert.True(good.Body.GetProperty("is_compatible").GetBoolean());
        Assert.False(good.Body.TryGetProperty("messages", out _));
    }

    [Fact]
    public async Task CheckCompatibility_SubjectWithoutVersions_IsCompatible()
    {
        var response = await _http.SendAsync(HttpMethod.Post, $"/compatibility/subjects/{RegistryFixture.NewSubject()}/versions/latest", TestSchemas.Body(TestSchemas.UserV1));

        Assert.True(response.Body.GetProperty("is_compatible").GetBoolean());
    }

    [Fact]
    public async Task Register_MalformedJson_Returns400ExplainingThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", "{\"schema\": ");

        string message = response.AssertError(HttpStatusCode.BadRequest, 400);
        Assert.Contains("not valid JSON", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_EmptyBody_Returns400ThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", string.Empty);

        response.AssertError(HttpStatusCode.BadRequest, 400);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_InvalidAvroSchema_Returns42201WithParserMessageThenKeepsServing()
    {
        const string schema = """{"type":"record","name":"Broken","fields":[{"name":"x","type":"nope"}]}""";

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(schema));

        string message = response.AssertError(HttpStatusCode.UnprocessableEntity, 42201);
        Assert.StartsWith("Invalid schema", message, StringComparison.Ordinal);
        Assert.Contains("Undefined name: nope", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_SchemaIsJsonObjectNotString_Returns42201ExplainingThenKeepsServing()
    {
        string body = $$"""{"schema": {{TestSchemas.UserV1}}}""";

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", body);

        string message = response.AssertError(HttpStatusCode.UnprocessableEntity, 42201);
        Assert.Contains("must be a JSON string", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_InvalidDefault_Returns42201NamingTheField()
    {
        const string schema = """{"type":"record","name":"R","fields":[{"name":"note","type":["string","null"],"default":null}]}""";

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(schema));

        string message = response.AssertError(HttpStatusCode.UnprocessableEntity, 42201);
        Assert.Contains("'note'", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task Register_ProtobufSchemaType_Returns42201()
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, string> { ["schema"] = "syntax = \"proto3\";", ["schemaType"] = "PROTOBUF" });

        var response = await _http.SendAsync(HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", body);

        string message = response.AssertError(HttpStatusCode.UnprocessableEntity, 42201);
        Assert.Contains("AVRO schemas only", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_TextPlainContentType_Returns415()
    {
        var response = await _http.SendAsync(
            HttpMethod.Post, $"/subjects/{RegistryFixture.NewSubject()}/versions", TestSchemas.Body(TestSchemas.UserV1), "text/plain");

        response.AssertError(HttpStatusCode.UnsupportedMediaType, 415);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task GetSchemaById_UnknownId_Returns40403ThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Get, "/schemas/ids/987654?subject=x-value");

        string message = response.AssertError(HttpStatusCode.NotFound, 40403);
        Assert.Contains("987654", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task GetVersion_UnknownSubject_Returns40401ThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Get, $"/subjects/{RegistryFixture.NewSubject()}/versions/latest");

        response.AssertError(HttpStatusCode.NotFound, 40401);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task GetVersion_UnknownVersion_Returns40402()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/7");

        response.AssertError(HttpStatusCode.NotFound, 40402);
    }

    [Fact]
    public async Task GetVersion_NotANumber_Returns42202()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/first");

        response.AssertError(HttpStatusCode.UnprocessableEntity, 42202);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task PutSubjectConfig_InvalidLevel_Returns42203ThenKeepsServing()
    {
        var response = await _http.SendAsync(HttpMethod.Put, $"/config/{RegistryFixture.NewSubject()}", """{"compatibility":"SIDEWAYS"}""");

        string message = response.AssertError(HttpStatusCode.UnprocessableEntity, 42203);
        Assert.Contains("SIDEWAYS", message, StringComparison.Ordinal);
        Assert.Contains("FULL_TRANSITIVE", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task SubjectConfig_SetToNone_AllowsIncompatibleChangeForThatSubjectOnly()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var notConfigured = await _http.SendAsync(HttpMethod.Get, $"/config/{subject}");
        var put = await _http.SendAsync(HttpMethod.Put, $"/config/{subject}", """{"compatibility":"NONE"}""");
        var get = await _http.SendAsync(HttpMethod.Get, $"/config/{subject}");
        var register = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserNameAsInt));

        notConfigured.AssertError(HttpStatusCode.NotFound, 40408);
        Assert.Equal("NONE", put.Body.GetProperty("compatibility").GetString());
        Assert.Equal("NONE", get.Body.GetProperty("compatibilityLevel").GetString());
        Assert.Equal(HttpStatusCode.OK, register.Status);
    }

    [Fact]
    public async Task Associations_AnyPath_Returns40401()
    {
        var response = await _http.SendAsync(HttpMethod.Get, "/associations/resources/-/orders?resourceType=topic&associationTypes=value");

        response.AssertError(HttpStatusCode.NotFound, 40401);
    }

    [Fact]
    public async Task UnknownRoute_Returns404ConfluentBody()
    {
        var response = await _http.SendAsync(HttpMethod.Get, "/no/such/thing");

        string message = response.AssertError(HttpStatusCode.NotFound, 404);
        Assert.Contains("/no/such/thing", message, StringComparison.Ordinal);
        await _http.AssertStillServesAsync();
    }

    [Fact]
    public async Task KnownRoute_WrongMethod_Returns405ConfluentBody()
    {
        var response = await _http.SendAsync(HttpMethod.Patch, "/subjects");

        response.AssertError(HttpStatusCode.MethodNotAllowed, 405);
    }

    [Fact]
    public async Task DeleteSubject_Soft_HidesSubjectAndKeepsSchemaReadable()
    {
        string subject = RegistryFixture.NewSubject();
        var registered = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));
        int id = registered.Body.GetProperty("id").GetInt32();

        var deleted = await _http.SendAsync(HttpMethod.Delete, $"/subjects/{subject}");
        var subjects = await _http.SendAsync(HttpMethod.Get, "/subjects");
        var subjectsWithDeleted = await _http.SendAsync(HttpMethod.Get, "/subjects?deleted=true");
        var latest = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions/latest");
        var byId = await _http.SendAsync(HttpMethod.Get, $"/schemas/ids/{id}");
        var reregistered = await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));
        var versions = await _http.SendAsync(HttpMethod.Get, $"/subjects/{subject}/versions");

        Assert.Equal("[1]", deleted.Body.GetRawText());
        Assert.DoesNotContain(subjects.Body.EnumerateArray(), s => s.GetString() == subject);
        Assert.Contains(subjectsWithDeleted.Body.EnumerateArray(), s => s.GetString() == subject);
        latest.AssertError(HttpStatusCode.NotFound, 40401);
        Assert.Equal(HttpStatusCode.OK, byId.Status);
        Assert.Equal(id, reregistered.Body.GetProperty("id").GetInt32());
        Assert.Equal("[2]", versions.Body.GetRawText());
    }

    [Fact]
    public async Task DeleteVersion_PermanentWithoutSoftDelete_Returns40407()
    {
        string subject = RegistryFixture.NewSubject();
        await _http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));

        var response = await _http.SendAsync(HttpMethod.Delete, $"/subjects/{subject}/versions/1?permanent=true");
        var soft = await _http.SendAsync(HttpMethod.Delete, $"/subjects/{subject}/versions/1");
        var hard = await _http.SendAsync(HttpMethod.Delete, $"/subjects/{subject}/versions/1?permanent=true");

        response.AssertError(HttpStatusCode.NotFound, 40407);
        Assert.Equal("1", soft.Body.GetRawText());
        Assert.Equal("1", hard.Body.GetRawText());
    }

    [Fact]
    public async Task SubjectWithSlash_EscapedInPath_RoundTrips()
    {
        const string subject = "team/orders-value";
        string escaped = Uri.EscapeDataString(subject);

        await _http.SendAsync(HttpMethod.Post, $"/subjects/{escaped}/versions", TestSchemas.Body(TestSchemas.UserV1));
        var latest = await _http.SendAsync(HttpMethod.Get, $"/subjects/{escaped}/versions/latest");

        Assert.Equal(subject, latest.Body.GetProperty("subject").GetString());
    }
}
