using Avro;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace StreamPipeline.Embedded.SchemaRegistry.Schemas;

/// <summary>
/// Apache.Avro for .NET does not check field defaults, but the Java parser behind Confluent's
/// registry does (a union's default must match its first branch). Checking here keeps us from
/// accepting schemas a real registry refuses.
/// </summary>
internal static class AvroDefaultValidator
{
    /// <summary>Returns a message naming the first field whose default does not fit its type, or null.</summary>
    public static string? FindInvalidDefault(Schema schema) =>
        Visit(schema, new HashSet<Schema>(ReferenceEqualityComparer.Instance));

    private static string? Visit(Schema schema, HashSet<Schema> visited)
    {
        switch (schema)
        {
            case RecordSchema record:
                if (!visited.Add(record))
                {
                    return null;
                }

                foreach (Field field in record.Fields)
                {
                    if (field.DefaultValue is not null && !IsValid(field.Schema, field.DefaultValue))
                    {
                        return $"Invalid default for field '{field.Name}' of record '{record.Fullname}': " +
                               $"{field.DefaultValue.ToString(Formatting.None)} is not a valid {Describe(field.Schema)}" +
                               (field.Schema is UnionSchema ? " (a union's default must match its first branch)" : string.Empty);
                    }

                    string? nested = Visit(field.Schema, visited);
                    if (nested is not null)
                    {
                        return nested;
                    }
                }

                return null;
            case ArraySchema array:
                return Visit(array.ItemSchema, visited);
            case MapSchema map:
                return Visit(map.ValueSchema, visited);
            case UnionSchema union:
                foreach (Schema branch in union.Schemas)
                {
                    string? nested = Visit(branch, visited);
                    if (nested is not null)
                    {
                        return nested;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool IsValid(Schema schema, JToken value) => schema switch
    {
        LogicalSchema logical => IsValid(logical.BaseSchema, value),
        EnumSchema enumSchema => value.Type == JTokenType.String && enumSchema.Contains(value.Value<string>()),
        FixedSchema => value.Type == JTokenType.String,
        ArraySchema array => value is JArray items && items.All(item => IsValid(array.ItemSchema, item)),
        MapSchema map => value is JObject entries && entries.Properties().All(p => IsValid(map.ValueSchema, p.Value)),
        RecordSchema record => value is JObject fields && record.Fields.All(f =>
            fields.TryGetValue(f.Name, out JToken? fieldValue) ? IsValid(f.Schema, fieldValue) : f.DefaultValue is not null),
        UnionSchema union => union.Count > 0 && IsValid(union.Schemas[0], value),
        _ => schema.Tag switch
        {
            Schema.Type.Null => value.Type == JTokenType.Null,
            Schema.Type.Boolean => value.Type == JTokenType.Boolean,
            Schema.Type.Int => value is JValue { Value: long number } && number is >= int.MinValue and <= int.MaxValue,
            Schema.Type.Long => value is JValue { Value: long },
            Schema.Type.Float or Schema.Type.Double => value.Type is JTokenType.Integer or JTokenType.Float,
            Schema.Type.String or Schema.Type.Bytes => value.Type == JTokenType.String,
            _ => true,
        },
    };

    private static string Describe(Schema schema) => schema switch
    {
        UnionSchema union => "union " + string.Join("|", union.Schemas.Select(s => s.Name)),
        _ => schema.Name,
    };
}
