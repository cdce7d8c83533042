namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>
/// Compatibility levels with the meaning Confluent Schema Registry gives them.
/// "Backward" means the new schema can read data written with the previous one(s).
/// </summary>
public enum SchemaCompatibilityLevel
{
    /// <summary>No check: any schema is accepted.</summary>
    None,

    /// <summary>The new schema can read data written with the latest version.</summary>
    Backward,

    /// <summary>The new schema can read data written with every version.</summary>
    BackwardTransitive,

    /// <summary>The latest version can read data written with the new schema.</summary>
    Forward,

    /// <summary>Every version can read data written with the new schema.</summary>
    ForwardTransitive,

    /// <summary>Backward and forward against the latest version.</summary>
    Full,

    /// <summary>Backward and forward against every version.</summary>
    FullTransitive,
}
