using System.Buffers.Binary;
using System.Text;

namespace StreamPipeline.Protocol;

/// <summary>Avro binary decoding from a span; throws <see cref="InvalidDataException"/> on truncated or corrupt data.</summary>
internal ref struct AvroBinaryReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public AvroBinaryReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly bool End => _position == _buffer.Length;

    public long ReadLong()
    {
        ulong n = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                throw Truncated();
            }

            var b = _buffer[_position++];
            n |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return (long)(n >> 1) ^ -(long)(n & 1);
            }
        }

        throw new InvalidDataException("Avro varint longer than 10 bytes.");
    }

    public int ReadInt()
    {
        var value = ReadLong();
        return value is < int.MinValue or > int.MaxValue ? throw new InvalidDataException($"Avro int out of range: {value}.") : (int)value;
    }

    public double ReadDouble()
    {
        if (_buffer.Length - _position < 8)
        {
            throw Truncated();
        }

        var value = BinaryPrimitives.ReadDoubleLittleEndian(_buffer[_position..]);
        _position += 8;
        return value;
    }

    public double? ReadNullableDouble() => ReadLong() switch
    {
        0 => null,
        1 => ReadDouble(),
        var branch => throw new InvalidDataException($"Union branch {branch} does not exist in [\"null\",\"double\"]."),
    };

    public ReadOnlySpan<byte> ReadStringBytes()
    {
        var length = ReadLong();
        if (length < 0 || length > _buffer.Length - _position)
        {
            throw length < 0 ? new InvalidDataException($"Negative Avro string length {length}.") : Truncated();
        }

        var value = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadStringBytes());

    /// <summary>The item count of the next array block; 0 ends the array. Negative counts (block sizes follow) are handled.</summary>
    public long ReadArrayBlockCount()
    {
        var count = ReadLong();
        if (count < 0)
        {
            ReadLong(); // block size in bytes, only useful for skipping
            count = -count;
        }

        return count;
    }

    private static InvalidDataException Truncated() => new("Avro data ends in the middle of a value.");
}
