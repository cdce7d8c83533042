using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.Tests.Consuming;

public sealed class SinkTopicsTests
{
    [Fact]
    public void From_EveryTopicSet_EachMapsToItsKindInSubscriptionOrder()
    {
        var topics = SinkTopics.From(new SinkOptions { MetricsTopic = "m", PresenceTopic = "p", CommandResultsTopic = "c", ConnectorDeadLetterTopic = "d", CredentialAuditTopic = "a" });

        Assert.Equal(new[] { "m", "p", "c", "d", "a" }, topics.Names());
        Assert.Same(RecordKind.Metrics, topics.Find("m")!.Kind);
        Assert.Same(RecordKind.Presence, topics.Find("p")!.Kind);
        Assert.Same(RecordKind.CommandResult, topics.Find("c")!.Kind);
        Assert.Same(RecordKind.ConnectorDeadLetter, topics.Find("d")!.Kind);
        Assert.Same(RecordKind.CredentialAudit, topics.Find("a")!.Kind);
        Assert.Null(topics.Find("other"));
    }

    [Fact]
    public void From_OptionalTopicsEmpty_NotConsumed()
    {
        var topics = SinkTopics.From(new SinkOptions { MetricsTopic = "m", PresenceTopic = "p", CommandResultsTopic = "", ConnectorDeadLetterTopic = "", CredentialAuditTopic = "" });

        Assert.Equal(new[] { "m", "p" }, topics.Names());
        Assert.Null(topics.Find(""));
    }
}
