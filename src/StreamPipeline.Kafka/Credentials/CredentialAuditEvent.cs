using System.Buffers;
using System.Text.Json;

namespace StreamPipeline.Kafka.Credentials;

/// <summary>
/// One change to an agent's credential, on the <c>credential-audit</c> topic (keyed by agent id; the sink loads it into
/// ClickHouse's <c>credential_audit</c>): who did what to which agent and when. Never the token nor its hash. The value
/// is UTF-8 JSON <c>{"v":1,"event_id","action":"issue"|"revoke","agent_id","actor","tool","host","time_ms"}</c>.
/// </summary>
/// <param name="EventId">A random id, unique per event.</param>
/// <param name="Action"><c>issue</c> (a new token, first or replacing one) or <c>revoke</c>.</param>
/// <param name="AgentId">The agent whose credential changed.</param>
/// <param name="Actor">Who did it: <c>spctl --actor</c>, else the operating-system user.</param>
/// <param name="Tool">With what, e.g. <c>spctl tokens import</c>.</param>
/// <param name="Host">The machine it was done from.</param>
/// <param name="TimeMs">When, Unix milliseconds UTC.</param>
public sealed record CredentialAuditEvent(string EventId, string Action, string AgentId, string Actor, string Tool, string Host, long TimeMs)
{
    public const string Issue = "issue";
    public const string Revoke = "revoke";

    /// <summary>Longest text kept per field when loaded into ClickHouse, in UTF-8 bytes (agent ids are at most 128 characters).</summary>
    public const int MaxFieldBytes = 256;

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 1);
            w.WriteString("event_id", EventId);
            w.WriteString("action", Action);
            w.WriteString("agent_id", AgentId);
            w.WriteString("actor", Actor);
            w.WriteString("tool", Tool);
            w.WriteString("host", Host);
            w.WriteNumber("time_ms", TimeMs);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads an event; false (with the reason, never quoting the value) when the bytes are not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out CredentialAuditEvent audit, out string problem)
    {
        audit = null!;
        problem = "";
        try
        {
            var reader = new Utf8JsonReader(value);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { problem = "not a JSON object"; return false; }
            var action = Text(root, "action");
            if (action is not (Issue or Revoke)) { problem = "'action' is neither 'issue' nor 'revoke'"; return false; }
            var agentId = Text(root, "agent_id");
            if (string.IsNullOrEmpty(agentId)) { problem = "no 'agent_id'"; return false; }
            if (!root.TryGetProperty("time_ms", out var t) || !t.TryGetInt64(out var timeMs)) { problem = "no 'time_ms'"; return false; }
            audit = new CredentialAuditEvent(Text(root, "event_id") ?? "", action, agentId, Text(root, "actor") ?? "", Text(root, "tool") ?? "", Text(root, "host") ?? "", timeMs);
            return true;
        }
        catch (JsonException)
        {
            problem = "not valid JSON";
            return false;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
}
