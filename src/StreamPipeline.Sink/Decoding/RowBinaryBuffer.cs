using System.Buffers;
using System.Buffers.Binary;

namespace StreamPipeline.Sink.Decoding;

/// <summary>
/// Rows of one table in ClickHouse's RowBinary format, appended straight from the decoded Avro (no intermediate
/// objects), in a buffer rented from the shared pool only once data arrives and returned by <see cref="Dispose"/>.
/// </summary>
internal sealed class RowBinaryBuffer : IDisposable
{
    private byte[] _buffer = [];
    private int _length;

    public int Rows { get; private set; }

    public int Length => _length;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    /// <summary>A read-only stream over the rows, for one insert attempt (no copy).</summary>
    public MemoryStream OpenRead() => new(_buffer, 0, _length, writable: false);

    /// <summary>Marks the end of a row.</summary>
    public void EndRow() => Rows++;

    /// <summary>Where the next row starts; <see cref="Rewind"/> drops what was written after it.</summary>
    public (int Length, int Rows) Mark() => (_length, Rows);

    public void Rewind((int Length, int Rows) mark) => (_length, Rows) = mark;

    public void WriteString(ReadOnlySpan<byte> utf8)
    {
        var span = Reserve(utf8.Length + 5);
        var n = WriteVarUInt(span, (uint)utf8.Length);
        utf8.CopyTo(span[n..]);
        _length += n + utf8.Length;
    }

    public void WriteUInt8(byte value)
    {
        Reserve(1)[0] = value;
        _length += 1;
    }

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), value);
        _length += 2;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), value);
        _length += 4;
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);
        _length += 8;
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);
        _length += 8;
    }

    public void WriteFloat64(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);
        _length += 8;
    }

    /// <summary>Nullable(Float64): a null-flag byte (1 = NULL), then the value when not null.</summary>
    public void WriteNullableFloat64(bool hasValue, double value)
    {
        if (!hasValue)
        {
            WriteUInt8(1);
            return;
        }

        var span = Reserve(9);
        span[0] = 0;
        BinaryPrimitives.WriteDoubleLittleEndian(span[1..], value);
        _length += 9;
    }

    public void WriteNullableUInt64(bool hasValue, ulong value)
    {
        WriteUInt8(hasValue ? (byte)0 : (byte)1);
        if (hasValue) WriteUInt64(value);
    }

    public void WriteNullableInt64(bool hasValue, long value)
    {
        WriteUInt8(hasValue ? (byte)0 : (byte)1);
        if (hasValue) WriteInt64(value);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
        Rows = 0;
    }

    private Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _length < count)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(_length + count, Math.Max(64 * 1024, _buffer.Length * 2)));
            _buffer.AsSpan(0, _length).CopyTo(next);
            if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = next;
        }

        return _buffer.AsSpan(_length);
    }

    private static int WriteVarUInt(Span<byte> span, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        return i;
    }
}
