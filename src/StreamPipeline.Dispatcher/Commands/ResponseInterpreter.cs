using System.Text.Json;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// Reads an agent's response payload leniently (agent-protocol.md section 6), or the whole envelope when the agent put
/// <c>status</c> and <c>message</c> on it instead (the connector then forwards the envelope): an object whose <c>status</c> is
/// <c>"error"</c> is an <see cref="CommandStatus.Error"/> with its <c>message</c>; anything else (an object with another
/// or no status, a bare list, a scalar, nothing) is <see cref="CommandStatus.Ok"/>. The raw JSON is kept as it is.
/// </summary>
internal static class ResponseInterpreter
{
    public static (CommandStatus Status, string? Error) Interpret(string? responseJson)
    {
        if (string.IsNullOrWhiteSpace(responseJson)) return (CommandStatus.Ok, null);
        try
        {
            using var doc = JsonDocument.Parse(responseJson);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("status", out var status)
                && status.ValueKind == JsonValueKind.String
                && string.Equals(status.GetString(), "error", StringComparison.OrdinalIgnoreCase))
            {
                // The seed's shape has it in the payload; an agent that puts the error on the envelope may keep a message in either.
                var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()
                    : root.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("message", out var pm) && pm.ValueKind == JsonValueKind.String ? pm.GetString()
                    : null;
                return (CommandStatus.Error, string.IsNullOrEmpty(message) ? "the agent answered status error without a message" : message);
            }
        }
        catch (JsonException)
        {
            // Lenient: the connector only forwards payloads of well-formed envelopes; keep whatever came, raw.
        }

        return (CommandStatus.Ok, null);
    }
}
