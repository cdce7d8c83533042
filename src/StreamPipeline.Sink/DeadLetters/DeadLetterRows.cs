using System.Text;
using Confluent.Kafka;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.DeadLetters;

/// <summary>
/// Rows of <c>dead_letters</c> (columns as <see cref="SinkTables.DeadLetters"/>), from the headers of a dead letter,
/// never from its bytes: the table is read by dashboards, and a refused frame may carry anything, a credential
/// included. Every text is cut to a bound so a hostile header cannot bloat the table; invalid UTF-8 becomes U+FFFD.
/// </summary>
internal static class DeadLetterRows
{
    public const string SinkStage = "sink";
    public const string ConnectorStage = "connector";

    /// <summary>Bytes kept of an error message; the record in the dead-letter topic has the whole header.</summary>
    public const int MaxErrorBytes = 2048;

    /// <summary>Bytes kept of a reason, agent id or connector id (agent ids are at most 128 characters).</summary>
    public const int MaxNameBytes = 256;

    /// <summary>One of the sink's own dead letters, published at <paramref name="copy"/> of <paramref name="deadLetterTopic"/>.</summary>
    public static void AppendSinkLetter(DeadLetter letter, string deadLetterTopic, TopicPartitionOffset copy, long nowMs, RowBinaryBuffer rows)
    {
        rows.WriteString(Encoding.UTF8.GetBytes(SinkStage));
        rows.WriteString(Bounded(letter.AgentId, MaxNameBytes));
        rows.WriteString([]); // connector_id: not known to the sink
        rows.WriteString(Bounded(letter.Source.Topic, MaxNameBytes));
        rows.WriteUInt32((uint)letter.Source.Partition.Value);
        rows.WriteUInt64((ulong)letter.Source.Offset.Value);
        rows.WriteString(Bounded(deadLetterTopic, MaxNameBytes));
        rows.WriteUInt32((uint)Math.Max(0, copy.Partition.Value));
        rows.WriteUInt64((ulong)Math.Max(0, copy.Offset.Value));
        rows.WriteString(Bounded(letter.Reason, MaxNameBytes));
        rows.WriteString(Bounded(letter.Error, MaxErrorBytes));
        rows.WriteInt64(nowMs);
        rows.EndRow();
    }

    /// <summary>
    /// One record of the connector's dead-letter topic (read at <paramref name="at"/>). Time: the record's Kafka
    /// timestamp (the connector's producer sets it when it refuses the frame), or <paramref name="nowMs"/> when it has
    /// none; a header's clock is not trusted with the table's month partitioning.
    /// </summary>
    public static void AppendConnectorLetter(Headers? headers, byte[]? key, TopicPartitionOffset at, Timestamp timestamp, long nowMs, RowBinaryBuffer rows)
    {
        var agentId = Header(headers, DeadLetterHeaders.AgentId) ?? (key is null ? null : Encoding.UTF8.GetString(key));
        rows.WriteString(Encoding.UTF8.GetBytes(ConnectorStage));
        rows.WriteString(Bounded(agentId, MaxNameBytes));
        rows.WriteString(Bounded(Header(headers, DeadLetterHeaders.ConnectorId), MaxNameBytes));
        rows.WriteString([]); // source_topic: the frame never reached Kafka
        rows.WriteUInt32(0);
        rows.WriteUInt64(0);
        rows.WriteString(Bounded(at.Topic, MaxNameBytes));
        rows.WriteUInt32((uint)at.Partition.Value);
        rows.WriteUInt64((ulong)at.Offset.Value);
        rows.WriteString(Bounded(Header(headers, DeadLetterHeaders.Reason) ?? "unknown", MaxNameBytes));
        rows.WriteString(Bounded(Header(headers, DeadLetterHeaders.Error) ?? "The dead letter has no error header.", MaxErrorBytes));
        rows.WriteInt64(timestamp.Type != TimestampType.NotAvailable && timestamp.UnixTimestampMs > 0 ? timestamp.UnixTimestampMs : nowMs);
        rows.EndRow();
    }

    private static string? Header(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var value) && value is not null ? Encoding.UTF8.GetString(value) : null;

    /// <summary>UTF-8 of <paramref name="text"/>, cut at a character boundary to at most <paramref name="maxBytes"/> bytes.</summary>
    internal static byte[] Bounded(string? text, int maxBytes)
    {
        if (string.IsNullOrEmpty(text)) return [];
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length <= maxBytes) return bytes;
        var end = maxBytes;
        // Back off continuation bytes (10xxxxxx) so the cut does not split a character.
        while (end > 0 && (bytes[end] & 0xC0) == 0x80) end--;
        return bytes.AsSpan(0, end).ToArray();
    }
}
