using System.Text;

namespace StreamPipeline.Protocol;

/// <summary>
/// A reusable UTF-8 string slot. The parser writes the bytes it read; when they equal the previous sample's (an agent
/// reports the same devices every few seconds) nothing is copied or allocated, and the Avro writer copies the bytes
/// straight out. <see cref="Value"/> decodes to a string once, on demand.
/// </summary>
public sealed class Utf8Text
{
    private byte[] _bytes = [];
    private int _length;
    private string? _value = string.Empty;

    /// <summary>The text as UTF-8 (always valid UTF-8).</summary>
    public ReadOnlySpan<byte> Utf8 => _bytes.AsSpan(0, _length);

    /// <summary>The length in UTF-8 bytes.</summary>
    public int ByteCount => _length;

    /// <summary>The text as a string, decoded on first use after a change.</summary>
    public string Value => _value ??= Encoding.UTF8.GetString(Utf8);

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <summary>Sets the text (e.g. when a simulator or test builds a sample).</summary>
    public void Set(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (ReferenceEquals(value, _value))
        {
            return;
        }

        var count = Encoding.UTF8.GetByteCount(value);
        EnsureCapacity(count);
        _length = Encoding.UTF8.GetBytes(value, _bytes);
        _value = value;
    }

    /// <summary>Sets the text from UTF-8 bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="utf8"/> is not valid UTF-8.</exception>
    public void Set(ReadOnlySpan<byte> utf8)
    {
        if (!TrySet(utf8))
        {
            throw new ArgumentException("The bytes are not valid UTF-8.", nameof(utf8));
        }
    }

    /// <summary>Makes the text empty.</summary>
    public void Clear()
    {
        _length = 0;
        _value = string.Empty;
    }

    /// <summary>Sets the text unless the bytes are not valid UTF-8; copies nothing when they equal the current text.</summary>
    internal bool TrySet(ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual(Utf8))
        {
            return true;
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return false;
        }

        EnsureCapacity(utf8.Length);
        utf8.CopyTo(_bytes);
        _length = utf8.Length;
        _value = utf8.IsEmpty ? string.Empty : null;
        return true;
    }

    private void EnsureCapacity(int count)
    {
        if (_bytes.Length < count)
        {
            _bytes = new byte[Math.Max(count, Math.Max(16, _bytes.Length * 2))];
        }
    }
}
