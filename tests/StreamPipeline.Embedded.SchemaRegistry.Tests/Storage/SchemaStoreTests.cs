using StreamPipeline.Embedded.SchemaRegistry.Schemas;
using StreamPipeline.Embedded.SchemaRegistry.Storage;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Storage;

public sealed class SchemaStoreTests
{
    private readonly SchemaStore _store = new(SchemaCompatibilityLevel.Backward);

    [Fact]
    public void Register_SameSchemaTwoSubjects_SameIdVersionOneEach()
    {
        Registration a = _store.Register("a", Parse(TestSchemas.UserV1));
        Registration b = _store.Register("b", Parse(TestSchemas.UserV1));
        Registration again = _store.Register("a", Parse(TestSchemas.UserV1));

        Assert.Equal(a.Version.Schema.Id, b.Version.Schema.Id);
        Assert.Equal(1, b.Version.Version);
        Assert.True(a.Created);
        Assert.False(again.Created);
    }

    [Fact]
    public void Register_Incompatible_ThrowsConflictAndAddsNothing()
    {
        _store.Register("a", Parse(TestSchemas.UserV1));

        var ex = Assert.Throws<RegistryException>(() => _store.Register("a", Parse(TestSchemas.UserNameAsInt)));

        Assert.Equal(409, ex.HttpStatus);
        Assert.Equal([1], _store.GetVersions("a", includeDeleted: false));
    }

    [Fact]
    public void Register_AfterSoftDeletingLatest_ChecksOnlyLiveVersions()
    {
        _store.Register("a", Parse(TestSchemas.UserV1));
        _store.DeleteVersion("a", VersionSelector.Latest, permanent: false);

        Registration registration = _store.Register("a", Parse(TestSchemas.UserNameAsInt));

        Assert.Equal(2, registration.Version.Version);
        Assert.Equal([1, 2], _store.GetVersions("a", includeDeleted: true));
        Assert.Equal([2], _store.GetVersions("a", includeDeleted: false));
    }

    [Fact]
    public void DeleteSubject_Twice_SecondSaysSoftDeleted()
    {
        _store.Register("a", Parse(TestSchemas.UserV1));
        _store.DeleteSubject("a", permanent: false);

        var ex = Assert.Throws<RegistryException>(() => _store.DeleteSubject("a", permanent: false));

        Assert.Equal(40404, ex.ErrorCode);
    }

    [Fact]
    public void RegisterConcurrently_ManySubjects_IdsAreUniquePerSchema()
    {
        string[] schemas = Enumerable.Range(0, 20)
            .Select(i => $$"""{"type":"record","name":"R{{i}}","fields":[{"name":"a","type":"int"}]}""")
            .ToArray();

        var store = new SchemaStore(SchemaCompatibilityLevel.None);

        Parallel.For(0, 200, i => store.Register($"s{i % 10}", Parse(schemas[i % 20])));

        var ids = Enumerable.Range(0, 20).Select(i => store.Lookup($"s{i % 10}", Parse(schemas[i]), includeDeleted: false).Schema.Id).ToList();
        Assert.Equal(20, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 20), ids.Order());
    }

    private static ParsedAvroSchema Parse(string text) =>
        AvroSchemaParser.TryParse(text, out ParsedAvroSchema? schema, out string? error) ? schema : throw new InvalidOperationException(error);
}
