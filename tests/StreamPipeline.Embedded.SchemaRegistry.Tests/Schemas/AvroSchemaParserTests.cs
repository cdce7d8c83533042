using StreamPipeline.Embedded.SchemaRegistry.Schemas;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Schemas;

public sealed class AvroSchemaParserTests
{
    [Fact]
    public void TryParse_SameSchemaDifferentLayout_HasSameCanonicalForm()
    {
        const string compact = """{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}""";
        const string spaced = """
            {
              "fields": [ { "type": "string", "name": "a" } ],
              "name": "R", "type": "record"
            }
            """;

        Assert.True(AvroSchemaParser.TryParse(compact, out ParsedAvroSchema? first, out _));
        Assert.True(AvroSchemaParser.TryParse(spaced, out ParsedAvroSchema? second, out _));

        Assert.Equal(first.CanonicalForm, second.CanonicalForm);
        Assert.Equal(spaced, second.Text);
    }

    [Fact]
    public void TryParse_DifferentDefault_HasDifferentCanonicalForm()
    {
        Assert.True(AvroSchemaParser.TryParse("""{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}""", out ParsedAvroSchema? one, out _));
        Assert.True(AvroSchemaParser.TryParse("""{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2}]}""", out ParsedAvroSchema? two, out _));

        Assert.NotEqual(one.CanonicalForm, two.CanonicalForm);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("{\"type\":", "Unexpected end")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}""", "Undefined name: nope")]
    [InlineData("""{"type":"enum","name":"E","symbols":["A","A"]}""", "Duplicate symbol: A")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}""", "Invalid default for field 'a'")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":3000000000}]}""", "Invalid default for field 'a'")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":["string","null"],"default":null}]}""", "first branch")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]},"default":"B"}]}""", "Invalid default for field 'e'")]
    public void TryParse_InvalidSchema_ReturnsPreciseError(string text, string expectedFragment)
    {
        bool parsed = AvroSchemaParser.TryParse(text, out _, out string? error);

        Assert.False(parsed);
        Assert.Contains(expectedFragment, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":null}]}""")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1}]}""")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":"int"},"default":[1,2]}]}""")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"map","values":"string"},"default":{"k":"v"}}]}""")]
    [InlineData("\"string\"")]
    public void TryParse_ValidSchema_Succeeds(string text)
    {
        bool parsed = AvroSchemaParser.TryParse(text, out ParsedAvroSchema? schema, out string? error);

        Assert.True(parsed, error);
        Assert.Equal(text, schema!.Text);
    }
}
