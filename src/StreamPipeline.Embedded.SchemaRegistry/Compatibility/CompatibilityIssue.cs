namespace StreamPipeline.Embedded.SchemaRegistry.Compatibility;

/// <summary>
/// One reason a reader schema cannot read data written with a writer schema. The error types
/// are the ones Confluent's registry reports (Avro's SchemaIncompatibilityType).
/// </summary>
internal sealed record CompatibilityIssue(string ErrorType, string Path, string Description)
{
    public const string NameMismatch = "NAME_MISMATCH";
    public const string FixedSizeMismatch = "FIXED_SIZE_MISMATCH";
    public const string MissingEnumSymbols = "MISSING_ENUM_SYMBOLS";
    public const string ReaderFieldMissingDefaultValue = "READER_FIELD_MISSING_DEFAULT_VALUE";
    public const string TypeMismatch = "TYPE_MISMATCH";
    public const string MissingUnionBranch = "MISSING_UNION_BRANCH";

    public override string ToString() => $"{{errorType:'{ErrorType}', path:'{Path}', description:'{Description}'}}";
}
