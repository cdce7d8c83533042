namespace StreamPipeline.Embedded.SchemaRegistry.Compatibility;

/// <summary>Converts between <see cref="SchemaCompatibilityLevel"/> and Confluent's wire names (BACKWARD_TRANSITIVE).</summary>
internal static class CompatibilityLevelNames
{
    public const string ValidNames = "NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE";

    public static string ToWireName(SchemaCompatibilityLevel level) => level switch
    {
        SchemaCompatibilityLevel.None => "NONE",
        SchemaCompatibilityLevel.Backward => "BACKWARD",
        SchemaCompatibilityLevel.BackwardTransitive => "BACKWARD_TRANSITIVE",
        SchemaCompatibilityLevel.Forward => "FORWARD",
        SchemaCompatibilityLevel.ForwardTransitive => "FORWARD_TRANSITIVE",
        SchemaCompatibilityLevel.Full => "FULL",
        SchemaCompatibilityLevel.FullTransitive => "FULL_TRANSITIVE",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Unknown compatibility level."),
    };

    public static bool TryParse(string? name, out SchemaCompatibilityLevel level)
    {
        switch (name?.Trim().ToUpperInvariant())
        {
            case "NONE": level = SchemaCompatibilityLevel.None; return true;
            case "BACKWARD": level = SchemaCompatibilityLevel.Backward; return true;
            case "BACKWARD_TRANSITIVE": level = SchemaCompatibilityLevel.BackwardTransitive; return true;
            case "FORWARD": level = SchemaCompatibilityLevel.Forward; return true;
            case "FORWARD_TRANSITIVE": level = SchemaCompatibilityLevel.ForwardTransitive; return true;
            case "FULL": level = SchemaCompatibilityLevel.Full; return true;
            case "FULL_TRANSITIVE": level = SchemaCompatibilityLevel.FullTransitive; return true;
            default: level = default; return false;
        }
    }
}
