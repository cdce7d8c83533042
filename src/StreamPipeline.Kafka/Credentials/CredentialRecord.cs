using System.Buffers;
using System.Text;
using System.Text.Json;

namespace StreamPipeline.Kafka.Credentials;

/// <summary>Whether an agent's stored token authenticates.</summary>
public enum CredentialStatus
{
    /// <summary>The token authenticates the agent.</summary>
    Active,

    /// <summary>The token was revoked: it authenticates nobody (the hash is kept, so the agent is told "revoked").</summary>
    Revoked,
}

/// <summary>
/// One agent's credential on the <c>agent-credentials</c> topic (compacted, keyed by agent id; docs/kafka-topics.md):
/// the hash of its token (<see cref="AgentTokens"/>, never the token), its status and when it last changed. The value
/// is UTF-8 JSON <c>{"v":1,"hash":"sha256:HEX","status":"active"|"revoked","changed_ms":N}</c>; a record with no value
/// (a tombstone) removes the agent.
/// </summary>
public sealed record CredentialRecord(string Hash, CredentialStatus Status, long ChangedMs)
{
    /// <summary>The record value.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 1);
            w.WriteString("hash", Hash);
            w.WriteString("status", Status == CredentialStatus.Active ? "active" : "revoked");
            w.WriteNumber("changed_ms", ChangedMs);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a record value; false (with the reason, which never quotes the value) when it is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out CredentialRecord record, out string problem)
    {
        record = null!;
        problem = "";
        try
        {
            var reader = new Utf8JsonReader(value);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { problem = "not a JSON object"; return false; }
            var hash = root.TryGetProperty("hash", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
            if (!AgentTokens.TryParseHash(hash, out _)) { problem = "no 'hash' of the form sha256:<64 hex digits>"; return false; }
            var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            CredentialStatus parsed;
            if (status == "active") parsed = CredentialStatus.Active;
            else if (status == "revoked") parsed = CredentialStatus.Revoked;
            else { problem = "'status' is neither 'active' nor 'revoked'"; return false; }
            var changed = root.TryGetProperty("changed_ms", out var c) && c.TryGetInt64(out var ms) ? ms : 0;
            record = new CredentialRecord(hash!, parsed, changed);
            return true;
        }
        catch (JsonException)
        {
            problem = "not valid JSON";
            return false;
        }
    }

    /// <summary>The record key of an agent.</summary>
    public static byte[] Key(string agentId) => Encoding.UTF8.GetBytes(agentId);
}
