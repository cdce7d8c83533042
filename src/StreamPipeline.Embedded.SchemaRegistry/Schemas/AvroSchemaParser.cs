using System.Diagnostics.CodeAnalysis;
using Avro;

namespace StreamPipeline.Embedded.SchemaRegistry.Schemas;

internal static class AvroSchemaParser
{
    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> holds the parser's message.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ParsedAvroSchema? schema, [NotNullWhen(false)] out string? error)
    {
        schema = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the schema is empty";
            return false;
        }

        Schema parsed;
        try
        {
            parsed = Schema.Parse(text);
        }
        catch (Exception ex)
        {
            // The parser reports bad JSON with Newtonsoft exceptions and bad Avro with
            // SchemaParseException; for a client both mean "this text is not a schema".
            error = ex.Message;
            return false;
        }

        error = AvroDefaultValidator.FindInvalidDefault(parsed);
        if (error is not null)
        {
            return false;
        }

        schema = new ParsedAvroSchema(text, parsed, parsed.ToString());
        return true;
    }
}
