using StreamPipeline.Kafka.Credentials;
using StreamPipeline.Sink.DeadLetters;

namespace StreamPipeline.Sink.Decoding;

/// <summary>
/// Rows of <c>credential_audit</c> (columns as <see cref="SinkTables.CredentialAudit"/>) from the JSON events
/// <c>spctl tokens</c> writes to <c>credential-audit</c> (<see cref="CredentialAuditEvent"/>). Every text is cut to
/// <see cref="CredentialAuditEvent.MaxFieldBytes"/> so a hostile writer cannot bloat the table.
/// </summary>
internal static class CredentialAuditRows
{
    // Times outside these years are a broken writer's clock: such an event is a dead letter, not a row in a far partition.
    private static readonly long MinTimeMs = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long MaxTimeMs = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>Appends one event's row; null on success, else why the value is not an audit event (nothing appended then).</summary>
    public static string? Append(ReadOnlySpan<byte> value, ushort partition, ulong offset, RowBinaryBuffer rows)
    {
        if (!CredentialAuditEvent.TryParse(value, out var e, out var problem)) return "Not a credential audit event: " + problem + ".";
        if (e.TimeMs < MinTimeMs || e.TimeMs >= MaxTimeMs) return "Not a credential audit event: 'time_ms' is not between the years 2000 and 2200.";
        const int max = CredentialAuditEvent.MaxFieldBytes;
        rows.WriteString(DeadLetterRows.Bounded(e.EventId, max));
        rows.WriteString(DeadLetterRows.Bounded(e.Action, max));
        rows.WriteString(DeadLetterRows.Bounded(e.AgentId, max));
        rows.WriteString(DeadLetterRows.Bounded(e.Actor, max));
        rows.WriteString(DeadLetterRows.Bounded(e.Tool, max));
        rows.WriteString(DeadLetterRows.Bounded(e.Host, max));
        rows.WriteInt64(e.TimeMs);
        rows.WriteUInt16(partition);
        rows.WriteUInt64(offset);
        rows.EndRow();
        return null;
    }
}
