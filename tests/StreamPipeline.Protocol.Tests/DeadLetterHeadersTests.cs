namespace StreamPipeline.Protocol.Tests;

public sealed class DeadLetterHeadersTests
{
    [Fact]
    public void Names_AreTheDocumentedOnes()
    {
        // Operators' tools (kcat filters, replays of old dead letters) rely on these names: a rename breaks them silently.
        Assert.Equal(
            ["reason", "error", "agent_id", "connector_id", "session_id", "received_time_ms", "redacted", "source_topic", "source_partition", "source_offset"],
            [DeadLetterHeaders.Reason, DeadLetterHeaders.Error, DeadLetterHeaders.AgentId, DeadLetterHeaders.ConnectorId, DeadLetterHeaders.SessionId,
             DeadLetterHeaders.ReceivedTimeMs, DeadLetterHeaders.Redacted, DeadLetterHeaders.SourceTopic, DeadLetterHeaders.SourcePartition, DeadLetterHeaders.SourceOffset]);
    }
}
