using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace StreamPipeline.AgentSimulator.Protocol;

/// <summary>JSON writing helpers shared by the frames the agent sends.</summary>
internal static class Json
{
    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    /// <summary>
    /// A cached writer reset onto <paramref name="output"/>. Use it synchronously and flush it before any await:
    /// it belongs to the calling thread.
    /// </summary>
    public static Utf8JsonWriter WriterFor(IBufferWriter<byte> output)
    {
        var writer = _threadWriter;
        if (writer is null)
        {
            writer = new Utf8JsonWriter(output);
            _threadWriter = writer;
        }
        else
        {
            writer.Reset(output);
        }

        return writer;
    }

    /// <summary>
    /// Writes a float the way Python's json module does for a float: always with a fractional part
    /// (<c>12.0</c>, never <c>12</c>), so a strict reader sees a float. Two decimals, as the agent rounds.
    /// </summary>
    public static void WriteFloat(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double value)
    {
        writer.WritePropertyName(name);
        WriteFloatValue(writer, value);
    }

    public static void WriteFloatValue(Utf8JsonWriter writer, double value)
    {
        Span<byte> text = stackalloc byte[40];
        if (!double.IsFinite(value))
        {
            value = 0;
        }

        value = Math.Round(value, 2);
        if (value == 0)
        {
            value = 0; // no "-0.0"
        }

        value.TryFormat(text, out var length, "0.0#", CultureInfo.InvariantCulture);
        writer.WriteRawValue(text[..length], skipInputValidation: true);
    }

    public static long UnixMilliseconds(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
