using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace StreamPipeline.Protocol;

/// <summary>
/// Validates a command for an agent before it is sent (agent-protocol.md sections 4-6) and returns the exact payload to
/// send: only the fields the action defines, with <c>pid</c> converted to a JSON integer. An invalid command comes back
/// as an error value naming the field; the dispatcher answers it with a <c>rejected</c> result and never sends it.
/// </summary>
/// <remarks>
/// Rules: service actions need a non-blank string <c>name</c> of at most <see cref="MaxNameBytes"/> UTF-8 bytes.
/// <c>get-process</c> needs a <c>pid</c> that Python's <c>int()</c> accepts: a JSON integer, or a string of ASCII digits
/// with an optional sign, surrounding whitespace and single underscores between digits (<c>" 42 "</c>, <c>"-1"</c>,
/// <c>"1_000"</c>); refused: fractions even though <c>int(12.5)</c> truncates, booleans, null, <c>"12a"</c>, <c>"0x10"</c>,
/// non-ASCII digits, values beyond 64 bits. <c>update-agent-config</c> needs both a JSON integer <c>metricsInterval</c> in
/// 0..3600 and a <c>watchlist</c> list of strings. Actions without a payload are sent with <c>null</c>, whatever was given.
/// </remarks>
public static class CommandValidator
{
    /// <summary>Longest service name accepted, in UTF-8 bytes (systemd unit names are at most 256 characters).</summary>
    public const int MaxNameBytes = 256;

    /// <summary>Smallest <c>metricsInterval</c> (seconds).</summary>
    public const int MinMetricsInterval = 0;

    /// <summary>Largest <c>metricsInterval</c> (seconds).</summary>
    public const int MaxMetricsInterval = 3600;

    private static readonly byte[] NullPayload = "null"u8.ToArray();

    /// <summary>Validates a command whose payload is raw UTF-8 JSON (empty means no payload).</summary>
    public static bool TryValidate(string action, ReadOnlySpan<byte> payloadJson, [NotNullWhen(true)] out byte[]? normalizedPayload, out ProtocolError error)
    {
        if (payloadJson.IsEmpty)
        {
            return TryValidate(action, default(JsonElement), out normalizedPayload, out error);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payloadJson.ToArray());
        }
        catch (JsonException ex)
        {
            normalizedPayload = null;
            error = new ProtocolError(ProtocolErrorReason.MalformedJson, $"payload of '{action}' is not valid JSON: {ex.Message}");
            return false;
        }

        using (document)
        {
            return TryValidate(action, document.RootElement, out normalizedPayload, out error);
        }
    }

    /// <summary>Validates a command whose payload is a parsed JSON value (<c>default(JsonElement)</c> means no payload).</summary>
    public static bool TryValidate(string action, JsonElement payload, [NotNullWhen(true)] out byte[]? normalizedPayload, out ProtocolError error)
    {
        normalizedPayload = null;
        switch (action)
        {
            case CommandActions.GetServerInfo or CommandActions.GetServices or CommandActions.GetProcesses:
                normalizedPayload = NullPayload.ToArray();
                error = default;
                return true;
            case CommandActions.GetService or CommandActions.GetServiceLog or CommandActions.RestartService:
                return TryValidateServiceName(action, payload, out normalizedPayload, out error);
            case CommandActions.GetProcess:
                return TryValidatePid(action, payload, out normalizedPayload, out error);
            case CommandActions.UpdateAgentConfig:
                return TryValidateConfig(action, payload, out normalizedPayload, out error);
            default:
                error = new ProtocolError(
                    ProtocolErrorReason.UnknownAction,
                    $"action '{action}' is unknown; agents understand {string.Join(", ", CommandActions.All)}");
                return false;
        }
    }

    private static bool TryValidateServiceName(string action, JsonElement payload, out byte[]? normalizedPayload, out ProtocolError error)
    {
        normalizedPayload = null;
        if (!TryGetField(action, payload, "name", out var name, out error))
        {
            return false;
        }

        if (name.ValueKind != JsonValueKind.String)
        {
            return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.name must be a string, got {JsonTokenNames.Describe(name.ValueKind)}", out error);
        }

        var value = name.GetString()!;
        if (string.IsNullOrWhiteSpace(value))
        {
            return Fail(ProtocolErrorReason.InvalidValue, $"'{action}' payload.name must not be empty or blank", out error);
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > MaxNameBytes)
        {
            return Fail(ProtocolErrorReason.StringTooLong, $"'{action}' payload.name must be at most {MaxNameBytes} bytes, got {bytes}", out error);
        }

        normalizedPayload = WriteJson(value, static (json, name) => json.WriteString("name"u8, name));
        return true;
    }

    private static bool TryValidatePid(string action, JsonElement payload, out byte[]? normalizedPayload, out ProtocolError error)
    {
        normalizedPayload = null;
        if (!TryGetField(action, payload, "pid", out var pid, out error))
        {
            return false;
        }

        long value;
        switch (pid.ValueKind)
        {
            case JsonValueKind.Number when pid.TryGetInt64(out value):
                break;
            case JsonValueKind.Number:
                var raw = pid.GetRawText();
                return JsonNumbers.IsIntegerLiteral(Encoding.UTF8.GetBytes(raw))
                    ? Fail(ProtocolErrorReason.OutOfRange, $"'{action}' payload.pid must fit a 64-bit integer, got {raw}", out error)
                    : Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.pid must be an integer or a string of one, got {raw}", out error);
            case JsonValueKind.String:
                var text = pid.GetString()!;
                switch (PythonInt.TryParse(text, out value))
                {
                    case PythonInt.Result.Ok:
                        break;
                    case PythonInt.Result.Overflow:
                        return Fail(ProtocolErrorReason.OutOfRange, $"'{action}' payload.pid must fit a 64-bit integer, got \"{Shorten(text)}\"", out error);
                    default:
                        return Fail(ProtocolErrorReason.InvalidValue, $"'{action}' payload.pid must be an integer as Python int() reads it, got \"{Shorten(text)}\"", out error);
                }

                break;
            default:
                return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.pid must be an integer or a string of one, got {JsonTokenNames.Describe(pid.ValueKind)}", out error);
        }

        normalizedPayload = WriteJson(value, static (json, pid) => json.WriteNumber("pid"u8, pid));
        return true;
    }

    private static bool TryValidateConfig(string action, JsonElement payload, out byte[]? normalizedPayload, out ProtocolError error)
    {
        normalizedPayload = null;
        if (!TryGetField(action, payload, "metricsInterval", out var interval, out error)
            || !TryGetField(action, payload, "watchlist", out var watchlist, out error))
        {
            return false;
        }

        if (interval.ValueKind != JsonValueKind.Number)
        {
            return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.metricsInterval must be an integer, got {JsonTokenNames.Describe(interval.ValueKind)}", out error);
        }

        var rawInterval = interval.GetRawText();
        if (!JsonNumbers.IsIntegerLiteral(Encoding.UTF8.GetBytes(rawInterval)))
        {
            return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.metricsInterval must be an integer, got {rawInterval}", out error);
        }

        if (!interval.TryGetInt32(out var seconds) || seconds is < MinMetricsInterval or > MaxMetricsInterval)
        {
            return Fail(
                ProtocolErrorReason.OutOfRange,
                $"'{action}' payload.metricsInterval must be between {MinMetricsInterval} and {MaxMetricsInterval} seconds, got {rawInterval}",
                out error);
        }

        if (watchlist.ValueKind != JsonValueKind.Array)
        {
            return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.watchlist must be a list of strings, got {JsonTokenNames.Describe(watchlist.ValueKind)}", out error);
        }

        var index = 0;
        foreach (var item in watchlist.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return Fail(ProtocolErrorReason.WrongType, $"'{action}' payload.watchlist[{index}] must be a string, got {JsonTokenNames.Describe(item.ValueKind)}", out error);
            }

            index++;
        }

        normalizedPayload = WriteJson((seconds, watchlist), static (json, config) =>
        {
            json.WriteNumber("metricsInterval"u8, config.seconds);
            json.WriteStartArray("watchlist"u8);
            foreach (var item in config.watchlist.EnumerateArray())
            {
                json.WriteStringValue(item.GetString());
            }

            json.WriteEndArray();
        });
        return true;
    }

    private static bool TryGetField(string action, JsonElement payload, string field, out JsonElement value, out ProtocolError error)
    {
        value = default;
        if (payload.ValueKind != JsonValueKind.Object)
        {
            return payload.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                ? Fail(ProtocolErrorReason.MissingField, $"'{action}' needs a payload with '{field}', got none", out error)
                : Fail(ProtocolErrorReason.WrongType, $"'{action}' payload must be an object, got {JsonTokenNames.Describe(payload.ValueKind)}", out error);
        }

        if (!payload.TryGetProperty(field, out value) || value.ValueKind == JsonValueKind.Null)
        {
            return Fail(ProtocolErrorReason.MissingField, $"'{action}' payload.{field} is required but missing or null", out error);
        }

        error = default;
        return true;
    }

    private static byte[] WriteJson<T>(T state, Action<Utf8JsonWriter, T> writeFields)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            writeFields(json, state);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool Fail(ProtocolErrorReason reason, string message, out ProtocolError error)
    {
        error = new ProtocolError(reason, message);
        return false;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
