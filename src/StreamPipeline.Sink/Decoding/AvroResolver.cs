using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Decoding;

/// <summary>
/// Avro schema resolution (specification, "Schema Resolution"), compiled once per writer schema: a
/// <see cref="Transcoder"/> rewrites a record encoded with the writer's schema into the byte layout of the sink's
/// reader schema, which <see cref="RecordDecoder"/> then decodes as usual. Fields the reader does not have are skipped,
/// fields the writer lacks get the reader's default, fields may come in any order, numeric types are promoted
/// (int→long→float→double, string↔bytes), unions are matched branch by branch. The sink's own extension: an enum
/// read as a string gets the writer's symbol name (ClickHouse stores it as a string, so a new symbol loads as itself).
/// A writer the reader cannot read fails at compile time, naming the field and why.
/// </summary>
internal static class AvroResolver
{
    /// <summary>Compiles the plan that reads <paramref name="writer"/> data as <paramref name="reader"/>.</summary>
    /// <exception cref="AvroIncompatibleException">The writer schema cannot be read; the message names the field.</exception>
    public static Transcoder Compile(AvroSchemaNode writer, AvroSchemaNode reader) =>
        Compile(writer, reader, reader.Kind == AvroKind.Record ? reader.Name : reader.ToString(), new Dictionary<(AvroSchemaNode, AvroSchemaNode), RecordTranscoder>());

    private static Transcoder Compile(AvroSchemaNode writer, AvroSchemaNode reader, string path, Dictionary<(AvroSchemaNode, AvroSchemaNode), RecordTranscoder> records)
    {
        if (writer.Kind == AvroKind.Union)
        {
            var branches = new Transcoder[writer.Branches.Length];
            for (var i = 0; i < branches.Length; i++)
            {
                branches[i] = reader.Kind == AvroKind.Union
                    ? ToReaderUnion(writer.Branches[i], reader, path, records)
                    : Compile(writer.Branches[i], reader, path, records);
            }

            return new WriterUnionTranscoder(branches);
        }

        if (reader.Kind == AvroKind.Union) return ToReaderUnion(writer, reader, path, records);

        switch (reader.Kind)
        {
            case AvroKind.Record:
                if (writer.Kind != AvroKind.Record) throw Incompatible(path, $"the writer has {writer}, the sink reads a record {reader.Name}");
                if (writer.Name != reader.Name) throw Incompatible(path, $"the writer's record is named '{writer.Name}', the sink reads '{reader.Name}'");
                return CompileRecord(writer, reader, path, records);
            case AvroKind.Enum:
                if (writer.Kind != AvroKind.Enum || writer.Name != reader.Name) throw Incompatible(path, $"the writer has {writer}, the sink reads enum {reader.Name}");
                var map = new int[writer.Symbols.Length];
                var fallback = reader.EnumDefault is { } d ? Array.IndexOf(reader.Symbols, d) : -1;
                for (var i = 0; i < map.Length; i++)
                {
                    map[i] = Array.IndexOf(reader.Symbols, writer.Symbols[i]);
                    if (map[i] < 0 && fallback < 0) throw Incompatible(path, $"the writer's enum has symbol '{writer.Symbols[i]}' that the sink's enum {reader.Name} does not know and has no default for");
                    if (map[i] < 0) map[i] = fallback;
                }

                return new EnumTranscoder(map);
            case AvroKind.Array:
                if (writer.Kind != AvroKind.Array) throw Incompatible(path, $"the writer has {writer}, the sink reads an array");
                return new BlocksTranscoder(Compile(writer.Items!, reader.Items!, path + "[]", records), keys: false);
            case AvroKind.Map:
                if (writer.Kind != AvroKind.Map) throw Incompatible(path, $"the writer has {writer}, the sink reads a map");
                return new BlocksTranscoder(Compile(writer.Items!, reader.Items!, path + "{}", records), keys: true);
            case AvroKind.Fixed:
                if (writer.Kind != AvroKind.Fixed || writer.Size != reader.Size || writer.Name != reader.Name)
                    throw Incompatible(path, $"the writer has {writer}, the sink reads fixed {reader.Name} of {reader.Size} bytes");
                return new FixedTranscoder(reader.Size);
            case AvroKind.String when writer.Kind == AvroKind.Enum:
                return new EnumNameTranscoder(writer.Symbols.Select(s => Encoding.UTF8.GetBytes(s)).ToArray());
            default:
                if (!Promotable(writer.Kind, reader.Kind)) throw Incompatible(path, $"the writer has {writer}, which cannot be read as {reader}");
                return new PrimitiveTranscoder(writer.Kind, reader.Kind);
        }
    }

    private static bool Promotable(AvroKind writer, AvroKind reader) => writer == reader || (writer, reader) switch
    {
        (AvroKind.Int, AvroKind.Long or AvroKind.Float or AvroKind.Double) => true,
        (AvroKind.Long, AvroKind.Float or AvroKind.Double) => true,
        (AvroKind.Float, AvroKind.Double) => true,
        (AvroKind.String, AvroKind.Bytes) or (AvroKind.Bytes, AvroKind.String) => true,
        _ => false,
    };

    /// <summary>A non-union writer type into a reader union: the first branch of the same type, else the first it promotes to.</summary>
    private static ReaderUnionTranscoder ToReaderUnion(AvroSchemaNode writer, AvroSchemaNode reader, string path, Dictionary<(AvroSchemaNode, AvroSchemaNode), RecordTranscoder> records)
    {
        var best = -1;
        for (var i = 0; i < reader.Branches.Length && best < 0; i++)
        {
            var branch = reader.Branches[i];
            if (branch.Kind == writer.Kind && (branch.Kind is not (AvroKind.Record or AvroKind.Enum or AvroKind.Fixed) || branch.Name == writer.Name)) best = i;
        }

        for (var i = 0; i < reader.Branches.Length && best < 0; i++)
        {
            if (Promotable(writer.Kind, reader.Branches[i].Kind) || (writer.Kind == AvroKind.Enum && reader.Branches[i].Kind == AvroKind.String)) best = i;
        }

        if (best < 0) throw Incompatible(path, $"the writer's {writer} matches no branch of the sink's union {reader}");
        return new ReaderUnionTranscoder(best, Compile(writer, reader.Branches[best], path, records));
    }

    private static RecordTranscoder CompileRecord(AvroSchemaNode writer, AvroSchemaNode reader, string path, Dictionary<(AvroSchemaNode, AvroSchemaNode), RecordTranscoder> records)
    {
        if (records.TryGetValue((writer, reader), out var known)) return known;
        var record = new RecordTranscoder();
        records[(writer, reader)] = record;
        var writerIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < writer.Fields.Count; i++) writerIndex[writer.Fields[i].Name] = i;

        var fromWriter = new int[reader.Fields.Count];
        var steps = new Transcoder?[writer.Fields.Count];
        var defaults = new byte[]?[reader.Fields.Count];
        for (var r = 0; r < reader.Fields.Count; r++)
        {
            var field = reader.Fields[r];
            var fieldPath = path + "." + field.Name;
            var w = writerIndex.GetValueOrDefault(field.Name, -1);
            for (var a = 0; w < 0 && a < field.Aliases.Length; a++) w = writerIndex.GetValueOrDefault(field.Aliases[a], -1);
            fromWriter[r] = w;
            if (w >= 0)
            {
                steps[w] = Compile(writer.Fields[w].Type, field.Type, fieldPath, records);
                continue;
            }

            if (field.Default is not { } value)
            {
                throw Incompatible(fieldPath, "the sink needs this field, the writer's schema does not have it and the sink's schema gives it no default");
            }

            var output = new AvroOutput();
            EncodeDefault(field.Type, value, output, fieldPath);
            defaults[r] = output.Written.ToArray();
        }

        var writerTypes = new AvroSchemaNode[writer.Fields.Count];
        for (var w = 0; w < writerTypes.Length; w++) writerTypes[w] = writer.Fields[w].Type;
        record.Initialize(fromWriter, steps, writerTypes, defaults);
        return record;
    }

    private static void EncodeDefault(AvroSchemaNode type, JsonElement value, AvroOutput output, string path)
    {
        try
        {
            switch (type.Kind)
            {
                case AvroKind.Null:
                    if (value.ValueKind != JsonValueKind.Null) throw new FormatException("expected null");
                    break;
                case AvroKind.Boolean:
                    output.WriteByte(value.GetBoolean() ? (byte)1 : (byte)0);
                    break;
                case AvroKind.Int or AvroKind.Long:
                    output.WriteLong(value.GetInt64());
                    break;
                case AvroKind.Float:
                    output.WriteFloat(value.GetSingle());
                    break;
                case AvroKind.Double:
                    output.WriteDouble(value.GetDouble());
                    break;
                case AvroKind.String:
                    output.WriteBytes(Encoding.UTF8.GetBytes(value.GetString()!));
                    break;
                case AvroKind.Bytes or AvroKind.Fixed:
                    var text = value.GetString()!;
                    var bytes = new byte[text.Length];
                    for (var i = 0; i < text.Length; i++) bytes[i] = checked((byte)text[i]);
                    if (type.Kind == AvroKind.Bytes) output.WriteBytes(bytes);
                    else output.WriteRaw(bytes);
                    break;
                case AvroKind.Enum:
                    var index = Array.IndexOf(type.Symbols, value.GetString());
                    if (index < 0) throw new FormatException("not a symbol of " + type.Name);
                    output.WriteLong(index);
                    break;
                case AvroKind.Array:
                    if (value.GetArrayLength() > 0)
                    {
                        output.WriteLong(value.GetArrayLength());
                        foreach (var item in value.EnumerateArray()) EncodeDefault(type.Items!, item, output, path + "[]");
                    }

                    output.WriteLong(0);
                    break;
                case AvroKind.Map:
                    var count = 0;
                    foreach (var _ in value.EnumerateObject()) count++;
                    if (count > 0)
                    {
                        output.WriteLong(count);
                        foreach (var entry in value.EnumerateObject())
                        {
                            output.WriteBytes(Encoding.UTF8.GetBytes(entry.Name));
                            EncodeDefault(type.Items!, entry.Value, output, path + "{}");
                        }
                    }

                    output.WriteLong(0);
                    break;
                case AvroKind.Union:
                    // The specification: a union's default is a value of its first branch.
                    output.WriteLong(0);
                    EncodeDefault(type.Branches[0], value, output, path);
                    break;
                case AvroKind.Record:
                    foreach (var field in type.Fields)
                    {
                        if (value.TryGetProperty(field.Name, out var v)) EncodeDefault(field.Type, v, output, path + "." + field.Name);
                        else if (field.Default is { } d) EncodeDefault(field.Type, d, output, path + "." + field.Name);
                        else throw new FormatException("the default object has no '" + field.Name + "'");
                    }

                    break;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw Incompatible(path, $"the sink's schema gives a default that is not a valid {type} ({e.Message})");
        }
    }

    private static AvroIncompatibleException Incompatible(string path, string why) => new(path, why);

    /// <summary>Skips one value of <paramref name="type"/>.</summary>
    internal static void Skip(ref AvroSpanReader input, AvroSchemaNode type)
    {
        switch (type.Kind)
        {
            case AvroKind.Null:
                break;
            case AvroKind.Boolean:
                input.ReadRaw(1);
                break;
            case AvroKind.Int or AvroKind.Long or AvroKind.Enum:
                input.ReadLong();
                break;
            case AvroKind.Float:
                input.ReadRaw(4);
                break;
            case AvroKind.Double:
                input.ReadRaw(8);
                break;
            case AvroKind.Bytes or AvroKind.String:
                input.ReadBytes();
                break;
            case AvroKind.Fixed:
                input.ReadRaw(type.Size);
                break;
            case AvroKind.Record:
                foreach (var field in type.Fields) Skip(ref input, field.Type);
                break;
            case AvroKind.Union:
                var branch = input.ReadLong();
                if (branch < 0 || branch >= type.Branches.Length) input.Fail($"Union branch {branch} does not exist in {type}.");
                else Skip(ref input, type.Branches[branch]);
                break;
            case AvroKind.Array or AvroKind.Map:
                for (var count = input.ReadArrayBlockCount(); count != 0 && input.Error is null; count = input.ReadArrayBlockCount())
                {
                    for (var i = 0; i < count && input.Error is null; i++)
                    {
                        if (type.Kind == AvroKind.Map) input.ReadBytes();
                        Skip(ref input, type.Items!);
                    }
                }

                break;
        }
    }
}

/// <summary>Reads one value in the writer's layout and writes it in the reader's. Errors go to the input's sticky error.</summary>
internal abstract class Transcoder
{
    public abstract void Transcode(ref AvroSpanReader input, AvroOutput output);
}

internal sealed class PrimitiveTranscoder(AvroKind writer, AvroKind reader) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        switch (writer)
        {
            case AvroKind.Null:
                return;
            case AvroKind.Boolean:
                var b = input.ReadRaw(1);
                if (b.Length == 1 && b[0] > 1) input.Fail("An Avro boolean is neither 0 nor 1.");
                output.WriteRaw(b);
                return;
            case AvroKind.Int or AvroKind.Long:
                var n = input.ReadLong();
                if (writer == AvroKind.Int && n is < int.MinValue or > int.MaxValue) input.Fail("An Avro int is out of range.");
                if (reader is AvroKind.Int or AvroKind.Long) output.WriteLong(n);
                else if (reader == AvroKind.Float) output.WriteFloat(n);
                else output.WriteDouble(n);
                return;
            case AvroKind.Float:
                var f = input.ReadRaw(4);
                if (f.Length < 4) return;
                var single = BinaryPrimitives.ReadSingleLittleEndian(f);
                if (reader == AvroKind.Float) output.WriteFloat(single);
                else output.WriteDouble(single);
                return;
            case AvroKind.Double:
                output.WriteRaw(input.ReadRaw(8));
                return;
            default:
                // string and bytes share one encoding; RecordDecoder checks a string's UTF-8 when it reads it.
                output.WriteBytes(input.ReadBytes());
                return;
        }
    }
}

internal sealed class FixedTranscoder(int size) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output) => output.WriteRaw(input.ReadRaw(size));
}

internal sealed class EnumTranscoder(int[] map) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        var symbol = input.ReadLong();
        if (symbol < 0 || symbol >= map.Length) input.Fail($"Enum symbol {symbol} does not exist in the writer's schema.");
        else output.WriteLong(map[symbol]);
    }
}

/// <summary>An enum loaded as a string column: the writer's symbol name, whatever the sink's schema lists.</summary>
internal sealed class EnumNameTranscoder(byte[][] names) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        var symbol = input.ReadLong();
        if (symbol < 0 || symbol >= names.Length) input.Fail($"Enum symbol {symbol} does not exist in the writer's schema.");
        else output.WriteBytes(names[symbol]);
    }
}

internal sealed class WriterUnionTranscoder(Transcoder[] branches) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        var branch = input.ReadLong();
        if (branch < 0 || branch >= branches.Length) input.Fail($"Union branch {branch} does not exist in the writer's schema.");
        else branches[branch].Transcode(ref input, output);
    }
}

internal sealed class ReaderUnionTranscoder(int branch, Transcoder value) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        output.WriteLong(branch);
        value.Transcode(ref input, output);
    }
}

internal sealed class BlocksTranscoder(Transcoder item, bool keys) : Transcoder
{
    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        for (var count = input.ReadArrayBlockCount(); count != 0 && input.Error is null; count = input.ReadArrayBlockCount())
        {
            output.WriteLong(count);
            for (var i = 0; i < count && input.Error is null; i++)
            {
                if (keys) output.WriteBytes(input.ReadBytes());
                item.Transcode(ref input, output);
            }
        }

        output.WriteLong(0);
    }
}

/// <summary>
/// A record: writer fields are read in the writer's order; when they map onto the reader's fields in the reader's
/// order (fields added or removed, the usual evolution) they stream through, otherwise each field's bytes are
/// located first and then written in the reader's order.
/// </summary>
internal sealed class RecordTranscoder : Transcoder
{
    private int[] _fromWriter = [];
    private Transcoder?[] _steps = [];
    private AvroSchemaNode[] _writerTypes = [];
    private byte[]?[] _defaults = [];
    private int[] _toReader = [];
    private bool _inOrder;

    public void Initialize(int[] fromWriter, Transcoder?[] steps, AvroSchemaNode[] writerTypes, byte[]?[] defaults)
    {
        _fromWriter = fromWriter;
        _steps = steps;
        _writerTypes = writerTypes;
        _defaults = defaults;
        _toReader = new int[steps.Length];
        Array.Fill(_toReader, -1);
        for (var r = 0; r < fromWriter.Length; r++)
        {
            if (fromWriter[r] >= 0) _toReader[fromWriter[r]] = r;
        }

        _inOrder = true;
        var last = -1;
        foreach (var w in fromWriter)
        {
            if (w < 0) continue;
            if (w < last) _inOrder = false;
            last = w;
        }
    }

    public override void Transcode(ref AvroSpanReader input, AvroOutput output)
    {
        if (_inOrder)
        {
            var next = 0;
            for (var w = 0; w < _steps.Length && input.Error is null; w++)
            {
                if (_steps[w] is not { } step)
                {
                    AvroResolver.Skip(ref input, _writerTypes[w]);
                    continue;
                }

                for (; next < _toReader[w]; next++) output.WriteRaw(_defaults[next]);
                step.Transcode(ref input, output);
                next++;
            }

            for (; next < _defaults.Length; next++) output.WriteRaw(_defaults[next]);
            return;
        }

        // Fields out of order: find where each writer field starts, then transcode them in the reader's order.
        Span<int> starts = _steps.Length <= 64 ? stackalloc int[_steps.Length + 1] : new int[_steps.Length + 1];
        var scan = input;
        for (var w = 0; w < _steps.Length && scan.Error is null; w++)
        {
            starts[w] = scan.Position;
            AvroResolver.Skip(ref scan, _writerTypes[w]);
        }

        if (scan.Error is not null)
        {
            input.Fail(scan.Error);
            return;
        }

        starts[_steps.Length] = scan.Position;
        for (var r = 0; r < _fromWriter.Length && input.Error is null; r++)
        {
            var w = _fromWriter[r];
            if (w < 0)
            {
                output.WriteRaw(_defaults[r]);
                continue;
            }

            var field = input.At(starts[w]);
            _steps[w]!.Transcode(ref field, output);
            if (field.Error is not null) input.Fail(field.Error);
        }

        input.MoveTo(starts[_steps.Length]);
    }
}

/// <summary>A growable byte buffer for transcoded Avro, reused record after record.</summary>
internal sealed class AvroOutput
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void Reset() => _length = 0;

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteLong(long value)
    {
        var span = Reserve(10);
        var n = ((ulong)value << 1) ^ (ulong)(value >> 63);
        var i = 0;
        while (n >= 0x80)
        {
            span[i++] = (byte)(n | 0x80);
            n >>= 7;
        }

        span[i++] = (byte)n;
        _length -= 10 - i;
    }

    public void WriteFloat(float value) => BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);

    public void WriteDouble(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        WriteRaw(value);
    }

    public void WriteRaw(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    private Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _length < count) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}

/// <summary>A writer schema the sink cannot read.</summary>
internal sealed class AvroIncompatibleException(string field, string why)
    : Exception(string.Create(CultureInfo.InvariantCulture, $"field '{field}': {why}"))
{
    public string Field { get; } = field;
}
