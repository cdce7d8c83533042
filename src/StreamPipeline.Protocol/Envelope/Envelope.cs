using System.Text.Json;

namespace StreamPipeline.Protocol;

/// <summary>
/// A parsed protocol envelope <c>{"type","id","action","payload","timestamp"}</c>. It points into the frame it was parsed
/// from (no copies), so it lives on the stack and is valid only while that frame's buffer is.
/// </summary>
public readonly ref struct Envelope
{
    internal Envelope(
        EnvelopeType type,
        long? id,
        ReadOnlySpan<byte> action,
        bool hasAction,
        ReadOnlySpan<byte> payload,
        JsonTokenType payloadKind,
        long? timestamp)
    {
        Type = type;
        Id = id;
        ActionUtf8 = action;
        HasAction = hasAction;
        Payload = payload;
        PayloadKind = payloadKind;
        Timestamp = timestamp;
    }

    /// <summary>The envelope type.</summary>
    public EnvelopeType Type { get; }

    /// <summary>The message id; null when the field was absent or null (e.g. the agent's <c>authenticate</c> request).</summary>
    public long? Id { get; }

    /// <summary>True when the envelope had an <c>action</c> string.</summary>
    public bool HasAction { get; }

    /// <summary>The action name as unescaped UTF-8, e.g. <c>metrics</c>; empty when absent.</summary>
    public ReadOnlySpan<byte> ActionUtf8 { get; }

    /// <summary>
    /// The raw JSON text of the payload value (object, array, string, number, literal), ready for a payload parser;
    /// empty when the field was absent.
    /// </summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The first token of the payload (<see cref="JsonTokenType.StartObject"/>, <see cref="JsonTokenType.Null"/>...); <see cref="JsonTokenType.None"/> when absent.</summary>
    public JsonTokenType PayloadKind { get; }

    /// <summary>The agent's Unix time in milliseconds; null when the field was absent or null.</summary>
    public long? Timestamp { get; }

    /// <summary>Compares the action with a UTF-8 literal without allocating, e.g. <c>envelope.ActionIs("metrics"u8)</c>.</summary>
    public bool ActionIs(ReadOnlySpan<byte> actionUtf8) => HasAction && ActionUtf8.SequenceEqual(actionUtf8);

    /// <summary>The action as a string (allocates; for logs and the command path).</summary>
    public string GetAction() => System.Text.Encoding.UTF8.GetString(ActionUtf8);
}
