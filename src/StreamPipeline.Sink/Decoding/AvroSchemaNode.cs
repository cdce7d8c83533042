using System.Text.Json;

namespace StreamPipeline.Sink.Decoding;

/// <summary>The Avro types (logical types are read as their underlying type: the sink loads the raw value).</summary>
internal enum AvroKind
{
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record,
    Enum,
    Array,
    Map,
    Union,
    Fixed,
}

/// <summary>A record field: its name, type, aliases and (pre-parsed) default.</summary>
internal sealed record AvroField(string Name, AvroSchemaNode Type, JsonElement? Default, string[] Aliases);

/// <summary>
/// A parsed Avro schema (the subset of the specification that decides the binary layout): what
/// <see cref="AvroResolver"/> compares a writer schema against the sink's reader schema with.
/// </summary>
internal sealed class AvroSchemaNode
{
    private AvroSchemaNode(AvroKind kind) => Kind = kind;

    public AvroKind Kind { get; }

    /// <summary>Unqualified name of a record, enum or fixed.</summary>
    public string Name { get; private init; } = "";

    public List<AvroField> Fields { get; } = [];

    public string[] Symbols { get; private init; } = [];

    /// <summary>An enum's default symbol (Avro 1.9+), used for writer symbols the reader does not know.</summary>
    public string? EnumDefault { get; private init; }

    /// <summary>Items of an array, values of a map.</summary>
    public AvroSchemaNode? Items { get; private set; }

    public AvroSchemaNode[] Branches { get; private set; } = [];

    public int Size { get; private init; }

    public static AvroSchemaNode Primitive(AvroKind kind) => new(kind);

    /// <summary>Parses schema JSON.</summary>
    /// <exception cref="FormatException">Not an Avro schema; the message says where.</exception>
    public static AvroSchemaNode Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement.Clone(), "", new Dictionary<string, AvroSchemaNode>(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException("Not a valid Avro schema: " + e.Message, e);
        }
    }

    private static AvroSchemaNode Parse(JsonElement type, string space, Dictionary<string, AvroSchemaNode> named)
    {
        switch (type.ValueKind)
        {
            case JsonValueKind.String:
                return Named(type.GetString()!, space, named);
            case JsonValueKind.Array:
                var branches = new List<AvroSchemaNode>();
                foreach (var branch in type.EnumerateArray()) branches.Add(Parse(branch, space, named));
                return new AvroSchemaNode(AvroKind.Union) { Branches = [.. branches] };
            case JsonValueKind.Object:
                var kindElement = type.GetProperty("type");
                if (kindElement.ValueKind != JsonValueKind.String) return Parse(kindElement, space, named);
                var kind = kindElement.GetString()!;
                switch (kind)
                {
                    case "record" or "error":
                    {
                        var (name, full, ns) = NameOf(type, space);
                        var record = new AvroSchemaNode(AvroKind.Record) { Name = name };
                        named[full] = record;
                        foreach (var field in type.GetProperty("fields").EnumerateArray())
                        {
                            var aliases = new List<string>();
                            if (field.TryGetProperty("aliases", out var a))
                            {
                                foreach (var alias in a.EnumerateArray()) aliases.Add(alias.GetString()!);
                            }

                            record.Fields.Add(new AvroField(
                                field.GetProperty("name").GetString()!,
                                Parse(field.GetProperty("type"), ns, named),
                                field.TryGetProperty("default", out var d) ? d : null,
                                [.. aliases]));
                        }

                        return record;
                    }

                    case "enum":
                    {
                        var (name, full, _) = NameOf(type, space);
                        var symbols = new List<string>();
                        foreach (var symbol in type.GetProperty("symbols").EnumerateArray()) symbols.Add(symbol.GetString()!);
                        var node = new AvroSchemaNode(AvroKind.Enum)
                        {
                            Name = name,
                            Symbols = [.. symbols],
                            EnumDefault = type.TryGetProperty("default", out var d) ? d.GetString() : null,
                        };
                        named[full] = node;
                        return node;
                    }

                    case "fixed":
                    {
                        var (name, full, _) = NameOf(type, space);
                        var node = new AvroSchemaNode(AvroKind.Fixed) { Name = name, Size = type.GetProperty("size").GetInt32() };
                        named[full] = node;
                        return node;
                    }

                    case "array":
                        return new AvroSchemaNode(AvroKind.Array) { Items = Parse(type.GetProperty("items"), space, named) };
                    case "map":
                        return new AvroSchemaNode(AvroKind.Map) { Items = Parse(type.GetProperty("values"), space, named) };
                    default:
                        return Named(kind, space, named);
                }

            default:
                throw new JsonException("An Avro type must be a string, an array or an object, got " + type.ValueKind);
        }
    }

    private static AvroSchemaNode Named(string name, string space, Dictionary<string, AvroSchemaNode> named)
    {
        var primitive = name switch
        {
            "null" => AvroKind.Null,
            "boolean" => AvroKind.Boolean,
            "int" => AvroKind.Int,
            "long" => AvroKind.Long,
            "float" => AvroKind.Float,
            "double" => AvroKind.Double,
            "bytes" => AvroKind.Bytes,
            "string" => AvroKind.String,
            _ => (AvroKind?)null,
        };
        if (primitive is { } p) return new AvroSchemaNode(p);
        if (named.TryGetValue(name, out var node) || named.TryGetValue(space.Length == 0 ? name : space + "." + name, out node)) return node;
        throw new JsonException($"Unknown Avro type name '{name}'.");
    }

    private static (string Name, string Full, string Namespace) NameOf(JsonElement type, string space)
    {
        var name = type.GetProperty("name").GetString()!;
        var dot = name.LastIndexOf('.');
        if (dot >= 0) return (name[(dot + 1)..], name, name[..dot]);
        var ns = type.TryGetProperty("namespace", out var n) ? n.GetString() ?? "" : space;
        return (name, ns.Length == 0 ? name : ns + "." + name, ns);
    }

    /// <summary>A copy of this record in which the field <paramref name="field"/> has type <paramref name="type"/>.</summary>
    public AvroSchemaNode WithFieldType(string field, AvroSchemaNode type)
    {
        if (Kind != AvroKind.Record) throw new InvalidOperationException("Not a record.");
        var copy = new AvroSchemaNode(AvroKind.Record) { Name = Name };
        foreach (var f in Fields) copy.Fields.Add(f.Name == field ? f with { Type = type } : f);
        return copy;
    }

    public override string ToString() => Kind switch
    {
        AvroKind.Record or AvroKind.Enum or AvroKind.Fixed => Name,
        AvroKind.Array => "array<" + Items + ">",
        AvroKind.Map => "map<" + Items + ">",
        AvroKind.Union => "[" + string.Join(",", (IEnumerable<AvroSchemaNode>)Branches) + "]",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
