using System.Buffers;
using System.Text.Json;

namespace StreamPipeline.Protocol;

/// <summary>
/// Writes protocol envelopes as compact UTF-8 JSON, fields in the order of agent-protocol.md:
/// <c>type, id, action, [status, message,] payload, timestamp</c>. Used for requests and replies, which are rare next to
/// metrics, so a small writer per call is fine. Arguments that break the protocol throw: they are our bugs, not input.
/// </summary>
public static class EnvelopeWriter
{
    /// <summary>The largest request id (2^53 - 1): safe in every JSON parser (agent-protocol.md section 6).</summary>
    public const long MaxRequestId = (1L << 53) - 1;

    /// <summary>
    /// Writes <c>{"type":"request","id":N,"action":"...","payload":...,"timestamp":...}</c>.
    /// <paramref name="payloadJson"/> is one JSON value (validated); empty writes <c>null</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in 1..<see cref="MaxRequestId"/>.</exception>
    public static void WriteRequest(IBufferWriter<byte> output, long id, string action, ReadOnlySpan<byte> payloadJson, long timestampMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(id, MaxRequestId);
        Write(output, EnvelopeType.Request, id, action, payloadJson, timestampMs);
    }

    /// <summary>Writes <c>{"type":"response","id":N,"action":"...","payload":...,"timestamp":...}</c> (the agent side, e.g. the simulator).</summary>
    public static void WriteResponse(IBufferWriter<byte> output, long id, string action, ReadOnlySpan<byte> payloadJson, long timestampMs)
        => Write(output, EnvelopeType.Response, id, action, payloadJson, timestampMs);

    /// <summary>Writes <c>{"type":"event","id":N,"action":"...","payload":...,"timestamp":...}</c>, e.g. a <c>metrics</c> event (the simulator).</summary>
    public static void WriteEvent(IBufferWriter<byte> output, long id, string action, ReadOnlySpan<byte> payloadJson, long timestampMs)
        => Write(output, EnvelopeType.Event, id, action, payloadJson, timestampMs);

    /// <summary>
    /// Writes the agent's first message exactly as agents send it:
    /// <c>{"type":"request","action":"authenticate","payload":{"agent_id":"...","token":"..."}}</c> (the simulator).
    /// </summary>
    public static void WriteAuthenticateRequest(IBufferWriter<byte> output, string agentId, string token)
    {
        ArgumentNullException.ThrowIfNull(agentId);
        ArgumentNullException.ThrowIfNull(token);
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("type"u8, "request"u8);
        json.WriteString("action"u8, "authenticate"u8);
        json.WriteStartObject("payload"u8);
        json.WriteString("agent_id"u8, agentId);
        json.WriteString("token"u8, token);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>
    /// Writes the successful authenticate reply of agent-protocol.md section 6, status both at the top and in the payload:
    /// <c>{"type":"response","id":N,"action":"authenticate","status":"ok","payload":{"status":"ok"},"timestamp":T}</c>.
    /// </summary>
    /// <param name="output">Where the JSON goes.</param>
    /// <param name="requestId">The authenticate request's id, or 0 when it had none.</param>
    /// <param name="timestampMs">The backend's Unix time in milliseconds.</param>
    public static void WriteAuthenticateOk(IBufferWriter<byte> output, long requestId, long timestampMs)
        => WriteAuthenticateReply(output, requestId, ok: true, message: null, timestampMs);

    /// <summary>
    /// Writes the failed authenticate reply (same shape, with a message at both levels):
    /// <c>{"type":"response","id":N,"action":"authenticate","status":"error","message":"...","payload":{"status":"error","message":"..."},"timestamp":T}</c>.
    /// The caller then closes the socket with a policy-violation status.
    /// </summary>
    public static void WriteAuthenticateError(IBufferWriter<byte> output, long requestId, string message, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(message);
        WriteAuthenticateReply(output, requestId, ok: false, message, timestampMs);
    }

    private static void WriteAuthenticateReply(IBufferWriter<byte> output, long requestId, bool ok, string? message, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(requestId);
        var status = ok ? "ok"u8 : "error"u8;
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("type"u8, "response"u8);
        json.WriteNumber("id"u8, requestId);
        json.WriteString("action"u8, "authenticate"u8);
        json.WriteString("status"u8, status);
        if (message is not null)
        {
            json.WriteString("message"u8, message);
        }

        json.WriteStartObject("payload"u8);
        json.WriteString("status"u8, status);
        if (message is not null)
        {
            json.WriteString("message"u8, message);
        }

        json.WriteEndObject();
        json.WriteNumber("timestamp"u8, timestampMs);
        json.WriteEndObject();
    }

    private static void Write(IBufferWriter<byte> output, EnvelopeType type, long id, string action, ReadOnlySpan<byte> payloadJson, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrEmpty(action);
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("type"u8, type switch
        {
            EnvelopeType.Request => "request"u8,
            EnvelopeType.Response => "response"u8,
            _ => "event"u8,
        });
        json.WriteNumber("id"u8, id);
        json.WriteString("action"u8, action);
        json.WritePropertyName("payload"u8);
        if (payloadJson.IsEmpty)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteRawValue(payloadJson);
        }

        json.WriteNumber("timestamp"u8, timestampMs);
        json.WriteEndObject();
    }
}
