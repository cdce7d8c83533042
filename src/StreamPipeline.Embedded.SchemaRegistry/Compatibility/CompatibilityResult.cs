namespace StreamPipeline.Embedded.SchemaRegistry.Compatibility;

/// <summary>
/// Outcome of checking a schema against a subject's earlier versions. When incompatible,
/// <see cref="FailedIndex"/> is the position (latest first) of the version it failed against.
/// </summary>
internal sealed record CompatibilityResult(IReadOnlyList<CompatibilityIssue> Issues, int FailedIndex)
{
    public static readonly CompatibilityResult Compatible = new([], -1);

    public bool IsCompatible => Issues.Count == 0;
}
