using System.Net;
using Confluent.SchemaRegistry;
using ConfluentCompatibility = Confluent.SchemaRegistry.Compatibility;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Client;

/// <summary>Confluent's own client, unmodified, against the embedded registry.</summary>
public sealed class CachedSchemaRegistryClientTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly CachedSchemaRegistryClient _client = new(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() });

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task RegisterSchemaAsync_SameSchemaTwice_ReturnsSameId()
    {
        string subject = RegistryFixture.NewSubject();

        int first = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));
        using var freshClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() });
        int second = await freshClient.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));

        Assert.True(first > 0);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task GetSchemaAsync_RegisteredId_ReturnsAvroSchema()
    {
        string subject = RegistryFixture.NewSubject();
        int id = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));
        using var freshClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() });

        Schema schema = await freshClient.GetSchemaAsync(id);
        Schema bySubject = await freshClient.GetSchemaBySubjectAndIdAsync(subject, id);

        Assert.Equal(TestSchemas.UserV1, schema.SchemaString);
        Assert.Equal(SchemaType.Avro, schema.SchemaType);
        Assert.Equal(TestSchemas.UserV1, bySubject.SchemaString);
    }

    [Fact]
    public async Task GetLatestSchemaAsync_TwoVersions_ReturnsSecond()
    {
        string subject = RegistryFixture.NewSubject();
        await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));
        int id2 = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV2WithDefault, SchemaType.Avro));

        RegisteredSchema latest = await _client.GetLatestSchemaAsync(subject);
        RegisteredSchema first = await _client.GetRegisteredSchemaAsync(subject, 1);

        Assert.Equal(subject, latest.Subject);
        Assert.Equal(2, latest.Version);
        Assert.Equal(id2, latest.Id);
        Assert.Equal(TestSchemas.UserV2WithDefault, latest.SchemaString);
        Assert.Equal(1, first.Version);
    }

    [Fact]
    public async Task GetAllSubjectsAsync_AfterRegister_ListsSubjectAndVersions()
    {
        string subject = RegistryFixture.NewSubject();
        await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));
        await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV2WithDefault, SchemaType.Avro));

        List<string> subjects = await _client.GetAllSubjectsAsync();
        List<int> versions = await _client.GetSubjectVersionsAsync(subject);

        Assert.Contains(subject, subjects);
        Assert.Equal([1, 2], versions);
    }

    [Fact]
    public async Task LookupSchemaAsync_RegisteredSchema_ReturnsIdAndVersion()
    {
        string subject = RegistryFixture.NewSubject();
        int id = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));

        RegisteredSchema found = await _client.LookupSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro), ignoreDeletedSchemas: true);

        Assert.Equal(id, found.Id);
        Assert.Equal(1, found.Version);
    }

    [Fact]
    public async Task LookupSchemaAsync_UnknownSubject_ThrowsNotFound40401()
    {
        var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.LookupSchemaAsync(RegistryFixture.NewSubject(), new Schema(TestSchemas.UserV1, SchemaType.Avro), ignoreDeletedSchemas: true));

        Assert.Equal(HttpStatusCode.NotFound, ex.Status);
        Assert.Equal(40401, ex.ErrorCode);
    }

    [Fact]
    public async Task IsCompatibleAsync_CompatibleAndIncompatibleChanges_AnswersEach()
    {
        string subject = RegistryFixture.NewSubject();
        await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));

        bool compatible = await _client.IsCompatibleAsync(subject, new Schema(TestSchemas.UserV2WithDefault, SchemaType.Avro));
        bool incompatible = await _client.IsCompatibleAsync(subject, new Schema(TestSchemas.UserV2WithoutDefault, SchemaType.Avro));

        Assert.True(compatible);
        Assert.False(incompatible);
    }

    [Fact]
    public async Task RegisterSchemaAsync_CompatibleChange_IsAccepted()
    {
        string subject = RegistryFixture.NewSubject();
        int id1 = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));

        int id2 = await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV2WithDefault, SchemaType.Avro));

        Assert.NotEqual(id1, id2);
    }

    [Theory]
    [InlineData(TestSchemas.UserV2WithoutDefault)]
    [InlineData(TestSchemas.UserNameAsInt)]
    public async Task RegisterSchemaAsync_IncompatibleChange_ThrowsConflict409(string incompatible)
    {
        string subject = RegistryFixture.NewSubject();
        await _client.RegisterSchemaAsync(subject, new Schema(TestSchemas.UserV1, SchemaType.Avro));

        var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.RegisterSchemaAsync(subject, new Schema(incompatible, SchemaType.Avro)));

        Assert.Equal(HttpStatusCode.Conflict, ex.Status);
        Assert.Equal(409, ex.ErrorCode);
        Assert.Contains("incompatible with an earlier schema", ex.Message, StringComparison.Ordinal);
        Assert.Equal([1], await _client.GetSubjectVersionsAsync(subject));
    }

    [Fact]
    public async Task RegisterSchemaAsync_InvalidSchema_Throws42201()
    {
        var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.RegisterSchemaAsync(RegistryFixture.NewSubject(), new Schema("""{"type":"record","name":"R"}""", SchemaType.Avro)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, ex.Status);
        Assert.Equal(42201, ex.ErrorCode);
        Assert.Contains("'fields' cannot be null", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSchemaAsync_UnknownId_ThrowsNotFound40403()
    {
        var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() => _client.GetSchemaAsync(123456));

        Assert.Equal(HttpStatusCode.NotFound, ex.Status);
        Assert.Equal(40403, ex.ErrorCode);
    }

    [Fact]
    public async Task UpdateCompatibilityAsync_GlobalAndSubject_IsReadBack()
    {
        // Changes the global level, so it gets a registry of its own.
        await using EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url.ToString() });
        string subject = RegistryFixture.NewSubject();

        ConfluentCompatibility initial = await client.GetCompatibilityAsync();
        ConfluentCompatibility global = await client.UpdateCompatibilityAsync(ConfluentCompatibility.Full);
        ConfluentCompatibility subjectLevel = await client.UpdateCompatibilityAsync(ConfluentCompatibility.ForwardTransitive, subject);

        Assert.Equal(ConfluentCompatibility.Backward, initial);
        Assert.Equal(ConfluentCompatibility.Full, global);
        Assert.Equal(ConfluentCompatibility.Full, await client.GetCompatibilityAsync());
        Assert.Equal(ConfluentCompatibility.ForwardTransitive, subjectLevel);
        Assert.Equal(ConfluentCompatibility.ForwardTransitive, await client.GetCompatibilityAsync(subject));
    }
}
