using Avro;

namespace StreamPipeline.Embedded.SchemaRegistry.Schemas;

/// <summary>
/// A schema as submitted (<see cref="Text"/>, returned to clients unchanged) and as parsed.
/// <see cref="CanonicalForm"/> is Apache.Avro's re-rendering of the parsed schema, so two
/// submissions that differ only in whitespace or key order are the same schema.
/// </summary>
internal sealed record ParsedAvroSchema(string Text, Schema Schema, string CanonicalForm);
