using Avro;
using Newtonsoft.Json.Linq;

namespace StreamPipeline.Embedded.SchemaRegistry.Compatibility;

/// <summary>
/// Avro schema resolution (https://avro.apache.org/docs/current/specification/#schema-resolution)
/// turned into a compatibility check, following the rules of Avro Java's SchemaCompatibility that
/// Confluent's registry uses: records match fields by name (or reader alias) and need defaults for
/// fields the writer lacks, enums need every writer symbol unless the reader has a default, named
/// types must keep their name, and int -> long -> float -> double and string <-> bytes promote.
/// Logical types are checked as their underlying type, as Avro Java does.
/// </summary>
internal sealed class AvroCompatibilityChecker
{
    // A pair already being checked further up the stack is assumed compatible; this is what ends
    // recursion through self-referencing records (Avro Java does the same). Trial checks of union
    // branches share it, so they stop at the same cycles.
    private readonly HashSet<(Schema Reader, Schema Writer)> _inProgress = new(PairComparer.Instance);
    private readonly string _readerLabel;
    private readonly string _writerLabel;

    private AvroCompatibilityChecker(string readerLabel, string writerLabel)
    {
        _readerLabel = readerLabel;
        _writerLabel = writerLabel;
    }

    /// <summary>
    /// Lists why <paramref name="reader"/> cannot read data written with <paramref name="writer"/>;
    /// empty when it can. The labels name the two schemas in descriptions ("new", "old").
    /// </summary>
    public static IReadOnlyList<CompatibilityIssue> CheckCanRead(
        Schema reader, Schema writer, string readerLabel = "reader", string writerLabel = "writer")
    {
        List<CompatibilityIssue> issues = [];
        new AvroCompatibilityChecker(readerLabel, writerLabel).Check(reader, writer, string.Empty, issues);
        return issues;
    }

    /// <summary>True when <paramref name="reader"/> can read data written with <paramref name="writer"/>.</summary>
    public static bool CanRead(Schema reader, Schema writer) => CheckCanRead(reader, writer).Count == 0;

    /// <summary>
    /// Checks <paramref name="candidate"/> against earlier versions under <paramref name="level"/>.
    /// <paramref name="previousNewestFirst"/> holds the live versions, latest first.
    /// </summary>
    public static CompatibilityResult CheckLevel<TVersion>(
        SchemaCompatibilityLevel level,
        Schema candidate,
        IReadOnlyList<TVersion> previousNewestFirst,
        Func<TVersion, Schema> schemaOf)
    {
        ArgumentNullException.ThrowIfNull(previousNewestFirst);
        ArgumentNullException.ThrowIfNull(schemaOf);
        if (level == SchemaCompatibilityLevel.None || previousNewestFirst.Count == 0)
        {
            return CompatibilityResult.Compatible;
        }

        bool transitive = level is SchemaCompatibilityLevel.BackwardTransitive
            or SchemaCompatibilityLevel.ForwardTransitive
            or SchemaCompatibilityLevel.FullTransitive;
        bool backward = level is SchemaCompatibilityLevel.Backward
            or SchemaCompatibilityLevel.BackwardTransitive
            or SchemaCompatibilityLevel.Full
            or SchemaCompatibilityLevel.FullTransitive;
        bool forward = level is SchemaCompatibilityLevel.Forward
            or SchemaCompatibilityLevel.ForwardTransitive
            or SchemaCompatibilityLevel.Full
            or SchemaCompatibilityLevel.FullTransitive;

        int count = transitive ? previousNewestFirst.Count : 1;
        for (int i = 0; i < count; i++)
        {
            Schema existing = schemaOf(previousNewestFirst[i]);
            List<CompatibilityIssue> issues = [];
            if (backward)
            {
                issues.AddRange(CheckCanRead(candidate, existing, "new", "old"));
            }

            if (forward)
            {
                issues.AddRange(CheckCanRead(existing, candidate, "old", "new"));
            }

            if (issues.Count > 0)
            {
                return new CompatibilityResult(issues, i);
            }
        }

        return CompatibilityResult.Compatible;
    }

    private void Check(Schema reader, Schema writer, string path, List<CompatibilityIssue> issues)
    {
        reader = Unwrap(reader);
        writer = Unwrap(writer);
        if (!_inProgress.Add((reader, writer)))
        {
            return;
        }

        try
        {
            CheckResolved(reader, writer, path, issues);
        }
        finally
        {
            _inProgress.Remove((reader, writer));
        }
    }

    private void CheckResolved(Schema reader, Schema writer, string path, List<CompatibilityIssue> issues)
    {
        if (writer is UnionSchema writerUnion)
        {
            // Each branch the writer may have used must be readable.
            for (int i = 0; i < writerUnion.Count; i++)
            {
                Check(reader, writerUnion.Schemas[i], $"{path}/{i}", issues);
            }

            return;
        }

        if (reader is UnionSchema readerUnion)
        {
            if (!readerUnion.Schemas.Any(branch => CanReadBranch(branch, writer)))
            {
                Add(issues, CompatibilityIssue.MissingUnionBranch, path,
                    $"The {_readerLabel} schema's union at path '{Display(path)}' has no branch that can read {Describe(writer)} from the {_writerLabel} schema");
            }

            return;
        }

        switch (reader)
        {
            case RecordSchema readerRecord when writer is RecordSchema writerRecord:
                if (CheckName(readerRecord, writerRecord, path, issues))
                {
                    CheckRecord(readerRecord, writerRecord, path, issues);
                }

                return;
            case EnumSchema readerEnum when writer is EnumSchema writerEnum:
                if (CheckName(readerEnum, writerEnum, path, issues))
                {
                    CheckEnum(readerEnum, writerEnum, path, issues);
                }

                return;
            case FixedSchema readerFixed when writer is FixedSchema writerFixed:
                if (CheckName(readerFixed, writerFixed, path, issues) && readerFixed.Size != writerFixed.Size)
                {
                    Add(issues, CompatibilityIssue.FixedSizeMismatch, path,
                        $"The fixed type '{readerFixed.Fullname}' at path '{Display(path)}' has size {readerFixed.Size} in the {_readerLabel} schema and {writerFixed.Size} in the {_writerLabel} schema");
                }

                return;
            case ArraySchema readerArray when writer is ArraySchema writerArray:
                Check(readerArray.ItemSchema, writerArray.ItemSchema, path + "/items", issues);
                return;
            case MapSchema readerMap when writer is MapSchema writerMap:
                Check(readerMap.ValueSchema, writerMap.ValueSchema, path + "/values", issues);
                return;
            case PrimitiveSchema when writer is PrimitiveSchema && CanPromote(writer.Tag, reader.Tag):
                return;
            default:
                Add(issues, CompatibilityIssue.TypeMismatch, path,
                    $"The type at path '{Display(path)}' is {Describe(reader)} in the {_readerLabel} schema, which cannot read {Describe(writer)} from the {_writerLabel} schema");
                return;
        }
    }

    private bool CanReadBranch(Schema readerBranch, Schema writer)
    {
        List<CompatibilityIssue> trial = [];
        Check(readerBranch, writer, string.Empty, trial);
        return trial.Count == 0;
    }

    private void CheckRecord(RecordSchema reader, RecordSchema writer, string path, List<CompatibilityIssue> issues)
    {
        for (int i = 0; i < reader.Fields.Count; i++)
        {
            Field readerField = reader.Fields[i];
            string fieldPath = $"{path}/fields/{i}";
            Field? writerField = FindWriterField(writer, readerField);
            if (writerField is not null)
            {
                Check(readerField.Schema, writerField.Schema, fieldPath + "/type", issues);
            }
            else if (readerField.DefaultValue is null)
            {
                Add(issues, CompatibilityIssue.ReaderFieldMissingDefaultValue, fieldPath,
                    $"The field '{readerField.Name}' at path '{fieldPath}' in the {_readerLabel} schema has no default value and is missing in the {_writerLabel} schema");
            }
        }
    }

    private static Field? FindWriterField(RecordSchema writer, Field readerField)
    {
        if (writer.TryGetField(readerField.Name, out Field? field))
        {
            return field;
        }

        if (readerField.Aliases is not null)
        {
            foreach (string alias in readerField.Aliases)
            {
                if (writer.TryGetField(alias, out field))
                {
                    return field;
                }
            }
        }

        return null;
    }

    private void CheckEnum(EnumSchema reader, EnumSchema writer, string path, List<CompatibilityIssue> issues)
    {
        if (reader.Default is not null)
        {
            return;
        }

        List<string> missing = writer.Symbols.Where(symbol => !reader.Contains(symbol)).ToList();
        if (missing.Count > 0)
        {
            Add(issues, CompatibilityIssue.MissingEnumSymbols, path + "/symbols",
                $"The {_readerLabel} schema's enum '{reader.Fullname}' at path '{Display(path)}' lacks the symbols [{string.Join(", ", missing)}] of the {_writerLabel} schema and has no default symbol");
        }
    }

    /// <summary>Avro Java's rule: same unqualified name, or the reader lists the writer's full name as an alias.</summary>
    private bool CheckName(NamedSchema reader, NamedSchema writer, string path, List<CompatibilityIssue> issues)
    {
        if (reader.Name == writer.Name || ReaderAliases(reader).Contains(writer.Fullname))
        {
            return true;
        }

        Add(issues, CompatibilityIssue.NameMismatch, path,
            $"The name of the {writer.Tag.ToString().ToLowerInvariant()} at path '{Display(path)}' changed from '{writer.Fullname}' in the {_writerLabel} schema to '{reader.Fullname}' in the {_readerLabel} schema");
        return false;
    }

    private static IEnumerable<string> ReaderAliases(NamedSchema schema)
    {
        // Apache.Avro keeps named-type aliases private; its JSON rendering has them fully qualified.
        if (JObject.Parse(schema.ToString())["aliases"] is not JArray aliases)
        {
            return [];
        }

        return aliases.Select(alias => alias.ToString());
    }

    private static bool CanPromote(Schema.Type writer, Schema.Type reader) =>
        writer == reader || (writer, reader) switch
        {
            (Schema.Type.Int, Schema.Type.Long or Schema.Type.Float or Schema.Type.Double) => true,
            (Schema.Type.Long, Schema.Type.Float or Schema.Type.Double) => true,
            (Schema.Type.Float, Schema.Type.Double) => true,
            (Schema.Type.String, Schema.Type.Bytes) => true,
            (Schema.Type.Bytes, Schema.Type.String) => true,
            _ => false,
        };

    private static Schema Unwrap(Schema schema) => schema is LogicalSchema logical ? logical.BaseSchema : schema;

    private static string Describe(Schema schema) => Unwrap(schema) switch
    {
        NamedSchema named => $"{named.Tag.ToString().ToLowerInvariant()} '{named.Fullname}'",
        UnionSchema union => "union [" + string.Join(", ", union.Schemas.Select(Describe)) + "]",
        ArraySchema array => $"array of {Describe(array.ItemSchema)}",
        MapSchema map => $"map of {Describe(map.ValueSchema)}",
        Schema other => other.Tag.ToString().ToLowerInvariant(),
    };

    private static string Display(string path) => path.Length == 0 ? "/" : path;

    private static void Add(List<CompatibilityIssue> issues, string errorType, string path, string description) =>
        issues.Add(new CompatibilityIssue(errorType, Display(path), description));

    private sealed class PairComparer : IEqualityComparer<(Schema Reader, Schema Writer)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((Schema Reader, Schema Writer) x, (Schema Reader, Schema Writer) y) =>
            ReferenceEquals(x.Reader, y.Reader) && ReferenceEquals(x.Writer, y.Writer);

        public int GetHashCode((Schema Reader, Schema Writer) obj) =>
            HashCode.Combine(
                System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Reader),
                System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Writer));
    }
}
