using System.Buffers.Binary;
using System.Text;

namespace StreamPipeline.Protocol;

/// <summary>
/// Avro binary encoding into a span sized beforehand (see the Max* sizes): zig-zag varints for int/long/lengths/enum and
/// union indexes, IEEE doubles little-endian, strings as length + UTF-8. Same bytes as Apache.Avro's BinaryEncoder.
/// </summary>
internal ref struct AvroBinaryWriter
{
    /// <summary>Most bytes a long (or a length, count, enum or union index) takes.</summary>
    public const int MaxLongSize = 10;

    private readonly Span<byte> _buffer;
    private int _position;

    public AvroBinaryWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;

    /// <summary>Upper bound of a string's encoded size without scanning it.</summary>
    public static int MaxStringSize(string value) => MaxLongSize + Encoding.UTF8.GetMaxByteCount(value.Length);

    public void WriteLong(long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        while (n >= 0x80)
        {
            _buffer[_position++] = (byte)(n | 0x80);
            n >>= 7;
        }

        _buffer[_position++] = (byte)n;
    }

    public void WriteDouble(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    /// <summary>A <c>["null","double"]</c> union: branch index 0 for null, 1 then the double.</summary>
    public void WriteNullableDouble(double? value)
    {
        if (value is { } number)
        {
            _buffer[_position++] = 2; // zig-zag of branch 1
            WriteDouble(number);
        }
        else
        {
            _buffer[_position++] = 0;
        }
    }

    public void WriteString(ReadOnlySpan<byte> utf8)
    {
        WriteLong(utf8.Length);
        utf8.CopyTo(_buffer[_position..]);
        _position += utf8.Length;
    }

    public void WriteString(string value)
    {
        // Exact count first (length precedes the bytes); vectorized for ASCII, and these strings are short.
        var count = Encoding.UTF8.GetByteCount(value);
        WriteLong(count);
        _position += Encoding.UTF8.GetBytes(value, _buffer[_position..]);
    }

    /// <summary>Array block header: the item count (nothing when zero; <see cref="WriteArrayEnd"/> writes the 0 terminator).</summary>
    public void WriteArrayStart(int count)
    {
        if (count > 0)
        {
            WriteLong(count);
        }
    }

    public void WriteArrayEnd() => _buffer[_position++] = 0;
}
