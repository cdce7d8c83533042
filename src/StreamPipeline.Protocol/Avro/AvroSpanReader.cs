using System.Buffers.Binary;

namespace StreamPipeline.Protocol;

/// <summary>
/// Avro binary decoding from a span, the one reader of the services (the sink's hot path, Protocol's
/// <see cref="MetricsAvroReader"/> and <see cref="AgentPresenceAvroReader"/>, the sink's schema resolution). Errors are
/// values: a read past the end, a bad union branch, an out-of-range int or invalid UTF-8 sets a sticky
/// <see cref="Error"/> and every later read returns a default value. The caller checks once per record, so a poison
/// record costs no exception and nothing is allocated; a caller that wants an exception throws at the end
/// (<see cref="ThrowIfError"/>).
/// </summary>
public ref struct AvroSpanReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private int _position;

    /// <summary>The first thing that was wrong, or null while every read has succeeded.</summary>
    public string? Error { get; private set; }

    public readonly bool End => _position == _buffer.Length;

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _position;

    /// <summary>A reader over the same record, positioned at <paramref name="position"/> (a value located earlier).</summary>
    public readonly AvroSpanReader At(int position)
    {
        var reader = new AvroSpanReader(_buffer);
        reader._position = position;
        return reader;
    }

    /// <summary>Continues at <paramref name="position"/>, a place this reader or a copy of it reached before.</summary>
    public void MoveTo(int position) => _position = position;

    /// <summary><paramref name="count"/> raw bytes (a boolean, float, double or fixed).</summary>
    public ReadOnlySpan<byte> ReadRaw(int count)
    {
        if (Error is not null) return default;
        if (_buffer.Length - _position < count)
        {
            Fail("Avro data ends in the middle of a value (truncated record).");
            return default;
        }

        var value = _buffer.Slice(_position, count);
        _position += count;
        return value;
    }

    /// <summary>Length-prefixed bytes (Avro bytes, or a string not checked for UTF-8).</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = ReadLong();
        if (Error is not null) return default;
        if (length < 0 || length > _buffer.Length - _position)
        {
            Fail(length < 0 ? "Negative Avro length." : "Avro bytes longer than the rest of the record (truncated record).");
            return default;
        }

        var value = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>An Avro <c>long</c> (zig-zag varint), also a <c>timestamp-millis</c>.</summary>
    public long ReadLong()
    {
        if (Error is not null) return 0;
        ulong n = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                Fail("Avro data ends in the middle of a value (truncated record).");
                return 0;
            }

            var b = _buffer[_position++];
            n |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return (long)(n >> 1) ^ -(long)(n & 1);
        }

        Fail("Avro varint longer than 10 bytes.");
        return 0;
    }

    /// <summary>An Avro <c>int</c> (also an enum's symbol index): a varint that must fit in 32 bits.</summary>
    public int ReadInt()
    {
        var value = ReadLong();
        if (value is >= int.MinValue and <= int.MaxValue) return (int)value;
        Fail("Avro int out of range.");
        return 0;
    }

    /// <summary>An Avro <c>double</c> (8 bytes, little-endian).</summary>
    public double ReadDouble()
    {
        if (Error is not null) return 0;
        if (_buffer.Length - _position < 8)
        {
            Fail("Avro data ends in the middle of a double (truncated record).");
            return 0;
        }

        var value = BinaryPrimitives.ReadDoubleLittleEndian(_buffer[_position..]);
        _position += 8;
        return value;
    }

    /// <summary>A <c>["null","double"]</c> union: false for null.</summary>
    public bool ReadNullableDouble(out double value)
    {
        value = 0;
        switch (ReadLong())
        {
            case 0:
                return false;
            case 1:
                value = ReadDouble();
                return Error is null;
            default:
                Fail("Union branch does not exist in [\"null\",\"double\"].");
                return false;
        }
    }

    /// <summary>A <c>["null","long"]</c> union: false for null.</summary>
    public bool ReadNullableLong(out long value)
    {
        value = 0;
        switch (ReadLong())
        {
            case 0:
                return false;
            case 1:
                value = ReadLong();
                return Error is null;
            default:
                Fail("Union branch does not exist in [\"null\",\"long\"].");
                return false;
        }
    }

    /// <summary>A <c>["null","string"]</c> union; null reads as empty.</summary>
    public ReadOnlySpan<byte> ReadNullableString()
    {
        switch (ReadLong())
        {
            case 0:
                return default;
            case 1:
                return ReadString();
            default:
                Fail("Union branch does not exist in [\"null\",\"string\"].");
                return default;
        }
    }

    /// <summary>A string's UTF-8 bytes (a slice of the record, not copied); checked to be valid UTF-8.</summary>
    public ReadOnlySpan<byte> ReadString()
    {
        var length = ReadLong();
        if (Error is not null) return default;
        if (length < 0 || length > _buffer.Length - _position)
        {
            Fail(length < 0 ? "Negative Avro string length." : "Avro string longer than the rest of the record (truncated record).");
            return default;
        }

        var value = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        if (!System.Text.Unicode.Utf8.IsValid(value))
        {
            Fail("An Avro string is not valid UTF-8.");
            return default;
        }

        return value;
    }

    /// <summary>The item count of the next array block; 0 ends the array. Negative counts (a byte size follows) are handled.</summary>
    public long ReadArrayBlockCount()
    {
        var count = ReadLong();
        if (count < 0)
        {
            ReadLong();
            count = -count;
        }

        if (count > _buffer.Length - _position)
        {
            // Every item takes at least one byte: a larger count cannot be honest.
            Fail("Avro array block count larger than the rest of the record.");
            return 0;
        }

        return count;
    }

    /// <summary>Records <paramref name="error"/> unless an earlier one is already recorded (the first cause is the one reported).</summary>
    public void Fail(string error) => Error ??= error;

    /// <summary>For callers with an exception model: throws the recorded error.</summary>
    /// <exception cref="InvalidDataException">A read failed.</exception>
    public readonly void ThrowIfError()
    {
        if (Error is { } error) throw new InvalidDataException(error);
    }
}
