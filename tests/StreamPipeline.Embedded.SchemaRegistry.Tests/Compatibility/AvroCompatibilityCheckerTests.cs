using Avro;
using StreamPipeline.Embedded.SchemaRegistry.Compatibility;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Compatibility;

public sealed class AvroCompatibilityCheckerTests
{
    private const string Ok = "";

    /// <summary>reader, writer, expected error type ("" = compatible).</summary>
    public static TheoryData<string, string, string, string> Matrix => new()
    {
        { "same record", Rec("""{"name":"a","type":"string"}"""), Rec("""{"name":"a","type":"string"}"""), Ok },
        { "reader adds field with default", Rec("""{"name":"a","type":"string"},{"name":"b","type":"int","default":1}"""), Rec("""{"name":"a","type":"string"}"""), Ok },
        { "reader adds nullable field with null default", Rec("""{"name":"a","type":"string"},{"name":"b","type":["null","string"],"default":null}"""), Rec("""{"name":"a","type":"string"}"""), Ok },
        { "reader adds field without default", Rec("""{"name":"a","type":"string"},{"name":"b","type":"int"}"""), Rec("""{"name":"a","type":"string"}"""), CompatibilityIssue.ReaderFieldMissingDefaultValue },
        { "reader drops a field", Rec("""{"name":"a","type":"string"}"""), Rec("""{"name":"a","type":"string"},{"name":"b","type":"int"}"""), Ok },
        { "field renamed with alias", Rec("""{"name":"b","type":"string","aliases":["a"]}"""), Rec("""{"name":"a","type":"string"}"""), Ok },
        { "field renamed without alias", Rec("""{"name":"b","type":"string"}"""), Rec("""{"name":"a","type":"string"}"""), CompatibilityIssue.ReaderFieldMissingDefaultValue },
        { "int promoted to long", "\"long\"", "\"int\"", Ok },
        { "int promoted to float", "\"float\"", "\"int\"", Ok },
        { "int promoted to double", "\"double\"", "\"int\"", Ok },
        { "long promoted to float", "\"float\"", "\"long\"", Ok },
        { "long promoted to double", "\"double\"", "\"long\"", Ok },
        { "float promoted to double", "\"double\"", "\"float\"", Ok },
        { "long narrowed to int", "\"int\"", "\"long\"", CompatibilityIssue.TypeMismatch },
        { "double narrowed to float", "\"float\"", "\"double\"", CompatibilityIssue.TypeMismatch },
        { "string read as bytes", "\"bytes\"", "\"string\"", Ok },
        { "bytes read as string", "\"string\"", "\"bytes\"", Ok },
        { "string read as int", "\"int\"", "\"string\"", CompatibilityIssue.TypeMismatch },
        { "boolean read as null", "\"null\"", "\"boolean\"", CompatibilityIssue.TypeMismatch },
        { "field type string to int", Rec("""{"name":"a","type":"int"}"""), Rec("""{"name":"a","type":"string"}"""), CompatibilityIssue.TypeMismatch },
        { "enum reader has more symbols", Enum("A", "B", "C"), Enum("A", "B"), Ok },
        { "enum reader lacks a symbol", Enum("A"), Enum("A", "B"), CompatibilityIssue.MissingEnumSymbols },
        { "enum reader lacks a symbol but has default", """{"type":"enum","name":"E","symbols":["A","U"],"default":"U"}""", Enum("A", "B"), Ok },
        { "record renamed", """{"type":"record","name":"Other","fields":[{"name":"a","type":"string"}]}""", Rec("""{"name":"a","type":"string"}"""), CompatibilityIssue.NameMismatch },
        { "record renamed with alias", """{"type":"record","name":"Other","namespace":"n","aliases":["n.R"],"fields":[{"name":"a","type":"string"}]}""", """{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"string"}]}""", Ok },
        { "record namespace changed", """{"type":"record","name":"R","namespace":"x","fields":[]}""", """{"type":"record","name":"R","namespace":"y","fields":[]}""", Ok },
        { "enum renamed", """{"type":"enum","name":"F","symbols":["A"]}""", Enum("A"), CompatibilityIssue.NameMismatch },
        { "fixed same size", Fixed("F", 4), Fixed("F", 4), Ok },
        { "fixed size changed", Fixed("F", 8), Fixed("F", 4), CompatibilityIssue.FixedSizeMismatch },
        { "fixed renamed", Fixed("G", 4), Fixed("F", 4), CompatibilityIssue.NameMismatch },
        { "value widened into union", """["null","string"]""", "\"string\"", Ok },
        { "int read by union with long", """["null","long"]""", "\"int\"", Ok },
        { "value not in reader union", """["null","string"]""", "\"int\"", CompatibilityIssue.MissingUnionBranch },
        { "union narrowed to a value", "\"string\"", """["null","string"]""", CompatibilityIssue.TypeMismatch },
        { "union loses a branch", """["null","string"]""", """["null","string","int"]""", CompatibilityIssue.MissingUnionBranch },
        { "union gains a branch", """["null","string","int"]""", """["null","string"]""", Ok },
        { "union branches reordered", """["string","null"]""", """["null","string"]""", Ok },
        { "array items promoted", """{"type":"array","items":"long"}""", """{"type":"array","items":"int"}""", Ok },
        { "array items narrowed", """{"type":"array","items":"int"}""", """{"type":"array","items":"long"}""", CompatibilityIssue.TypeMismatch },
        { "map values promoted", """{"type":"map","values":"double"}""", """{"type":"map","values":"float"}""", Ok },
        { "map values changed", """{"type":"map","values":"string"}""", """{"type":"map","values":"boolean"}""", CompatibilityIssue.TypeMismatch },
        { "array read as map", """{"type":"map","values":"int"}""", """{"type":"array","items":"int"}""", CompatibilityIssue.TypeMismatch },
        { "logical type over same base", """{"type":"long","logicalType":"timestamp-millis"}""", "\"long\"", Ok },
        { "logical type over narrower base", """{"type":"int","logicalType":"date"}""", "\"long\"", CompatibilityIssue.TypeMismatch },
        { "recursive record same", LinkedList(extraField: false), LinkedList(extraField: false), Ok },
        { "recursive record adds defaulted field", LinkedList(extraField: true), LinkedList(extraField: false), Ok },
        { "nested record adds field without default", Outer("""{"name":"x","type":"int"},{"name":"y","type":"int"}"""), Outer("""{"name":"x","type":"int"}"""), CompatibilityIssue.ReaderFieldMissingDefaultValue },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void CheckCanRead_Evolution_MatchesAvroResolutionRules(string scenario, string reader, string writer, string expectedErrorType)
    {
        IReadOnlyList<CompatibilityIssue> issues = AvroCompatibilityChecker.CheckCanRead(Schema.Parse(reader), Schema.Parse(writer));

        if (expectedErrorType.Length == 0)
        {
            Assert.True(issues.Count == 0, $"{scenario}: expected compatible, got {string.Join("; ", issues)}");
        }
        else
        {
            Assert.True(issues.Count > 0, $"{scenario}: expected {expectedErrorType}, got compatible");
            Assert.Equal(expectedErrorType, issues[0].ErrorType);
        }
    }

    [Fact]
    public void CheckCanRead_NestedMissingDefault_ReportsPathAndFieldName()
    {
        Schema reader = Schema.Parse(Outer("""{"name":"x","type":"int"},{"name":"y","type":"int"}"""));
        Schema writer = Schema.Parse(Outer("""{"name":"x","type":"int"}"""));

        CompatibilityIssue issue = Assert.Single(AvroCompatibilityChecker.CheckCanRead(reader, writer, "new", "old"));

        Assert.Equal("/fields/0/type/fields/1", issue.Path);
        Assert.Equal("The field 'y' at path '/fields/0/type/fields/1' in the new schema has no default value and is missing in the old schema", issue.Description);
    }

    [Fact]
    public void CheckCanRead_SeveralProblems_ReportsEach()
    {
        Schema reader = Schema.Parse(Rec("""{"name":"a","type":"int"},{"name":"b","type":"int"}"""));
        Schema writer = Schema.Parse(Rec("""{"name":"a","type":"string"}"""));

        IReadOnlyList<CompatibilityIssue> issues = AvroCompatibilityChecker.CheckCanRead(reader, writer);

        Assert.Equal([CompatibilityIssue.TypeMismatch, CompatibilityIssue.ReaderFieldMissingDefaultValue], issues.Select(i => i.ErrorType));
    }

    private static readonly Schema V1 = Schema.Parse(Rec("""{"name":"a","type":"string"}"""));
    private static readonly Schema V2AddsDefaulted = Schema.Parse(Rec("""{"name":"a","type":"string"},{"name":"b","type":"int","default":0}"""));
    private static readonly Schema V3RequiresB = Schema.Parse(Rec("""{"name":"a","type":"string"},{"name":"b","type":"int"}"""));
    private static readonly Schema V2DropsA = Schema.Parse(Rec("""{"name":"z","type":"string","default":""}"""));

    [Theory]
    [InlineData(SchemaCompatibilityLevel.None, true)]
    [InlineData(SchemaCompatibilityLevel.Backward, true)]
    [InlineData(SchemaCompatibilityLevel.BackwardTransitive, false)]
    [InlineData(SchemaCompatibilityLevel.Forward, true)]
    [InlineData(SchemaCompatibilityLevel.ForwardTransitive, true)]
    [InlineData(SchemaCompatibilityLevel.Full, true)]
    [InlineData(SchemaCompatibilityLevel.FullTransitive, false)]
    public void CheckLevel_RequiringFieldThatOnlyLatestHas_DependsOnTransitivity(SchemaCompatibilityLevel level, bool expected)
    {
        // v3 needs "b": v2 wrote it, v1 did not; only the transitive levels look at v1.
        CompatibilityResult result = AvroCompatibilityChecker.CheckLevel(level, V3RequiresB, [V2AddsDefaulted, V1], s => s);

        Assert.Equal(expected, result.IsCompatible);
        if (!expected)
        {
            Assert.Equal(1, result.FailedIndex);
        }
    }

    [Theory]
    [InlineData(SchemaCompatibilityLevel.Backward, true)]
    [InlineData(SchemaCompatibilityLevel.Forward, false)]
    [InlineData(SchemaCompatibilityLevel.Full, false)]
    [InlineData(SchemaCompatibilityLevel.None, true)]
    public void CheckLevel_NewSchemaDropsFieldOldSchemaRequires_FailsForwardOnly(SchemaCompatibilityLevel level, bool expected)
    {
        CompatibilityResult result = AvroCompatibilityChecker.CheckLevel(level, V2DropsA, [V1], s => s);

        Assert.Equal(expected, result.IsCompatible);
    }

    [Fact]
    public void CheckLevel_NoEarlierVersions_IsCompatible()
    {
        CompatibilityResult result = AvroCompatibilityChecker.CheckLevel(SchemaCompatibilityLevel.FullTransitive, V1, Array.Empty<Schema>(), s => s);

        Assert.True(result.IsCompatible);
    }

    private static string Rec(string fields) => $$"""{"type":"record","name":"R","fields":[{{fields}}]}""";

    private static string Enum(params string[] symbols) =>
        $$"""{"type":"enum","name":"E","symbols":[{{string.Join(",", symbols.Select(s => $"\"{s}\""))}}]}""";

    private static string Fixed(string name, int size) => $$"""{"type":"fixed","name":"{{name}}","size":{{size}}}""";

    private static string Outer(string innerFields) =>
        $$$"""{"type":"record","name":"Outer","fields":[{"name":"inner","type":{"type":"record","name":"Inner","fields":[{{{innerFields}}}]}}]}""";

    private static string LinkedList(bool extraField) =>
        $$"""{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"],"default":null}{{(extraField ? ",{\"name\":\"label\",\"type\":\"string\",\"default\":\"\"}" : string.Empty)}}]}""";
}
