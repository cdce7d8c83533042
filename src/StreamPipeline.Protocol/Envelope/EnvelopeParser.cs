using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace StreamPipeline.Protocol;

/// <summary>
/// Parses a protocol envelope without allocating on success: fields in any order, unknown fields ignored, errors returned
/// as values that name the field. Only malformed JSON costs an exception internally (Utf8JsonReader's only way to say so),
/// and it is caught and returned as <see cref="ProtocolErrorReason.MalformedJson"/>.
/// </summary>
public static class EnvelopeParser
{
    /// <summary>Longest accepted action name, in UTF-8 bytes.</summary>
    public const int MaxActionBytes = 128;

    private const int MaxValueEcho = 40;

    /// <summary>
    /// Parses <paramref name="frame"/>. Required: <c>type</c> (request, response or event), and <c>action</c> for requests
    /// and events. Optional: <c>id</c> (integer), <c>timestamp</c> (integer Unix ms), <c>payload</c> (any JSON value,
    /// returned raw, <c>null</c> included); a null id or timestamp counts as absent.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out Envelope envelope, out ProtocolError error)
        => TryParse(frame, metrics: null, sample: null, out envelope, out _, out error);

    /// <summary>
    /// The single-pass form behind <see cref="MetricsParser.TryParseFrame"/>: when <paramref name="metrics"/> is given and
    /// the payload follows <c>"type":"event"</c> and <c>"action":"metrics"</c> (the order agents write), the payload is
    /// parsed into <paramref name="sample"/> in place instead of being skipped and read again.
    /// </summary>
    internal static bool TryParse(
        ReadOnlySpan<byte> frame,
        MetricsParser? metrics,
        MetricsSample? sample,
        out Envelope envelope,
        out bool metricsParsed,
        out ProtocolError error)
    {
        // True once the payload was handed to the metrics parser, even if it then failed.
        metricsParsed = false;
        try
        {
            return TryParseCore(frame, metrics, sample, out envelope, out metricsParsed, out error);
        }
        catch (JsonException ex)
        {
            envelope = default;
            error = new ProtocolError(
                ProtocolErrorReason.MalformedJson,
                $"envelope is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // CopyString on an escaped string that decodes to invalid UTF-16/UTF-8.
            envelope = default;
            error = new ProtocolError(ProtocolErrorReason.MalformedJson, $"envelope holds an invalid string: {ex.Message}");
            return false;
        }
    }

    private static bool TryParseCore(
        ReadOnlySpan<byte> frame,
        MetricsParser? metrics,
        MetricsSample? sample,
        out Envelope envelope,
        out bool metricsParsed,
        out ProtocolError error)
    {
        envelope = default;
        metricsParsed = false;
        var reader = new Utf8JsonReader(frame, isFinalBlock: true, state: default);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = new ProtocolError(ProtocolErrorReason.WrongType, $"envelope must be a JSON object, got {JsonTokenNames.Describe(reader.TokenType)}");
            return false;
        }

        var type = EnvelopeType.Unknown;
        long? id = null;
        long? timestamp = null;
        ReadOnlySpan<byte> action = default;
        var hasAction = false;
        ReadOnlySpan<byte> payload = default;
        var payloadKind = JsonTokenType.None;
        // Envelope fields seen so far: a repeated one is refused (regression: a second "type" re-typed a metrics event
        // as a response, which was published and yet exempt from the event rate).
        var seen = EnvelopeFields.None;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            if (field != EnvelopeFields.None)
            {
                if ((seen & field) != 0)
                {
                    error = new ProtocolError(ProtocolErrorReason.DuplicateField, $"envelope field '{Name(field)}' appears more than once");
                    return false;
                }

                seen |= field;
            }

            if (field == EnvelopeFields.Type)
            {
                reader.Read();
                if (!TryReadType(ref reader, out type, out error))
                {
                    return false;
                }
            }
            else if (field == EnvelopeFields.Id)
            {
                reader.Read();
                if (!TryReadOptionalInteger(ref reader, "id", "an integer", out id, out error))
                {
                    return false;
                }
            }
            else if (field == EnvelopeFields.Action)
            {
                reader.Read();
                if (!TryReadAction(ref reader, out action, out hasAction, out error))
                {
                    return false;
                }
            }
            else if (field == EnvelopeFields.Timestamp)
            {
                reader.Read();
                if (!TryReadOptionalInteger(ref reader, "timestamp", "an integer (Unix ms)", out timestamp, out error))
                {
                    return false;
                }
            }
            else if (field == EnvelopeFields.Payload)
            {
                reader.Read();
                payloadKind = reader.TokenType;
                var start = (int)reader.TokenStartIndex;
                if (metrics is not null && type == EnvelopeType.Event && action.SequenceEqual(MetricsParser.Action))
                {
                    metricsParsed = true;
                    if (!metrics.TryParsePayload(ref reader, sample!, out error))
                    {
                        return false;
                    }
                }
                else
                {
                    reader.Skip();
                }

                payload = frame[start..(int)reader.BytesConsumed];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Anything but whitespace after the root object makes Read throw (caught as malformed JSON).
        reader.Read();

        if (type == EnvelopeType.Unknown)
        {
            error = new ProtocolError(ProtocolErrorReason.MissingField, "field 'type' is required (request, response or event)");
            return false;
        }

        if (!hasAction && type != EnvelopeType.Response)
        {
            error = new ProtocolError(ProtocolErrorReason.MissingField, $"field 'action' is required in {(type == EnvelopeType.Request ? "a request" : "an event")}");
            return false;
        }

        envelope = new Envelope(type, id, action, hasAction, payload, payloadKind, timestamp);
        error = default;
        return true;
    }

    [Flags]
    private enum EnvelopeFields { None = 0, Type = 1, Id = 2, Action = 4, Timestamp = 8, Payload = 16 }

    private static EnvelopeFields FieldOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("type"u8) ? EnvelopeFields.Type :
        reader.ValueTextEquals("id"u8) ? EnvelopeFields.Id :
        reader.ValueTextEquals("action"u8) ? EnvelopeFields.Action :
        reader.ValueTextEquals("timestamp"u8) ? EnvelopeFields.Timestamp :
        reader.ValueTextEquals("payload"u8) ? EnvelopeFields.Payload :
        EnvelopeFields.None;

    private static string Name(EnvelopeFields field) => field switch
    {
        EnvelopeFields.Type => "type",
        EnvelopeFields.Id => "id",
        EnvelopeFields.Action => "action",
        EnvelopeFields.Timestamp => "timestamp",
        _ => "payload",
    };

    private static bool TryReadType(ref Utf8JsonReader reader, out EnvelopeType type, out ProtocolError error)
    {
        type = EnvelopeType.Unknown;
        error = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            error = new ProtocolError(ProtocolErrorReason.WrongType, $"field 'type' must be a string, got {JsonTokenNames.Describe(reader.TokenType)}");
            return false;
        }

        if (reader.ValueTextEquals("event"u8))
        {
            type = EnvelopeType.Event;
        }
        else if (reader.ValueTextEquals("request"u8))
        {
            type = EnvelopeType.Request;
        }
        else if (reader.ValueTextEquals("response"u8))
        {
            type = EnvelopeType.Response;
        }
        else
        {
            error = new ProtocolError(
                ProtocolErrorReason.InvalidValue,
                $"field 'type' must be request, response or event, got '{Echo(ref reader)}'");
            return false;
        }

        return true;
    }

    private static bool TryReadAction(scoped ref Utf8JsonReader reader, out ReadOnlySpan<byte> action, out bool hasAction, out ProtocolError error)
    {
        action = default;
        hasAction = false;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = new ProtocolError(ProtocolErrorReason.WrongType, $"field 'action' must be a string, got {JsonTokenNames.Describe(reader.TokenType)}");
            return false;
        }

        var raw = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            // Escapes never grow when decoded, so raw.Length bounds the result; agents send plain ASCII action names,
            // so this small copy is the rare path.
            if (raw.Length > MaxActionBytes * 6)
            {
                return ActionTooLong(raw.Length, out error);
            }

            var unescaped = new byte[raw.Length];
            raw = unescaped.AsSpan(0, reader.CopyString(unescaped));
        }

        if (raw.Length > MaxActionBytes)
        {
            return ActionTooLong(raw.Length, out error);
        }

        if (!Utf8.IsValid(raw))
        {
            error = new ProtocolError(ProtocolErrorReason.MalformedJson, "field 'action' is not valid UTF-8");
            return false;
        }

        action = raw;
        hasAction = true;
        return true;
    }

    private static bool ActionTooLong(int length, out ProtocolError error)
    {
        error = new ProtocolError(ProtocolErrorReason.StringTooLong, $"field 'action' must be at most {MaxActionBytes} bytes, got {length}");
        return false;
    }

    private static bool TryReadOptionalInteger(ref Utf8JsonReader reader, string field, string expected, out long? value, out ProtocolError error)
    {
        value = null;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            error = new ProtocolError(ProtocolErrorReason.WrongType, $"field '{field}' must be {expected}, got {JsonTokenNames.Describe(reader.TokenType)}");
            return false;
        }

        if (reader.TryGetInt64(out var number))
        {
            value = number;
            return true;
        }

        error = JsonNumbers.IsIntegerLiteral(reader.ValueSpan)
            ? new ProtocolError(ProtocolErrorReason.OutOfRange, $"field '{field}' must fit a 64-bit integer, got {Echo(ref reader)}")
            : new ProtocolError(ProtocolErrorReason.WrongType, $"field '{field}' must be {expected}, got {Echo(ref reader)}");
        return false;
    }

    private static string Echo(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        var text = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, MaxValueEcho)]);
        return raw.Length > MaxValueEcho ? text + "..." : text;
    }
}
