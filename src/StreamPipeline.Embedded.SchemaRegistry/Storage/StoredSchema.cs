using StreamPipeline.Embedded.SchemaRegistry.Schemas;

namespace StreamPipeline.Embedded.SchemaRegistry.Storage;

/// <summary>A schema with its global id; one per distinct canonical form, shared by every subject that registers it.</summary>
internal sealed record StoredSchema(int Id, ParsedAvroSchema Schema);

/// <summary>A version of a subject as returned to callers.</summary>
internal readonly record struct SubjectVersion(string Subject, int Version, StoredSchema Schema);

/// <summary>Result of a registration: <see cref="Created"/> is false when the subject already had the schema.</summary>
internal readonly record struct Registration(SubjectVersion Version, bool Created);

/// <summary>Which version of a subject a request names; a null <see cref="Number"/> means the latest.</summary>
internal readonly record struct VersionSelector(int? Number)
{
    public static readonly VersionSelector Latest = new(null);

    public override string ToString() => Number?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "latest";
}
