using System.Text;

namespace StreamPipeline.Protocol.Tests.Metrics;

public sealed class MetricsParserFrameTests
{
    private readonly MetricsParser _parser = new();
    private readonly MetricsSample _sample = new();

    [Fact]
    public void TryParseFrame_RealisticMetricsEvent_EnvelopeAndSampleInOnePass()
    {
        Assert.True(_parser.TryParseFrame(TestFrames.Utf8(TestFrames.RealisticMetricsFrame), _sample, out var envelope, out var isMetrics, out var error), error.ToString());

        Assert.True(isMetrics);
        Assert.Equal(EnvelopeType.Event, envelope.Type);
        Assert.Equal(48213, envelope.Id);
        Assert.Equal(1733936600000, envelope.Timestamp);
        Assert.StartsWith("{\"cpuUsagePercent\"", Encoding.UTF8.GetString(envelope.Payload), StringComparison.Ordinal);
        Assert.Equal(12.73, _sample.CpuUsagePercent);
        Assert.Equal(2, _sample.Disks.Count);
        Assert.Equal("fe80::216:3eff:fe5a:7b9c", _sample.NetworkInterfaces[0].Ipv6.Value);
    }

    [Fact]
    public void TryParseFrame_PayloadBeforeTypeAndAction_SameSample()
    {
        var frame = $$"""{"payload": {{TestFrames.ProtocolExamplePayload}}, "timestamp": 5, "action": "metrics", "type": "event"}""";

        Assert.True(_parser.TryParseFrame(TestFrames.Utf8(frame), _sample, out var envelope, out var isMetrics, out var error), error.ToString());

        Assert.True(isMetrics);
        Assert.Equal(5, envelope.Timestamp);
        Assert.Equal(12.5, _sample.CpuUsagePercent);
        Assert.Equal("eth0", Assert.Single(_sample.NetworkInterfaces).Name.Value);
    }

    [Theory]
    [InlineData("""{"type":"response","id":4,"action":"get-services","payload":[{"name":"nginx"}],"timestamp":1}""")]
    [InlineData("""{"type":"request","action":"authenticate","payload":{"agent_id":"a","token":"t"}}""")]
    [InlineData("""{"type":"event","action":"log","payload":{"cpuUsagePercent":"not metrics"}}""")]
    public void TryParseFrame_NotAMetricsEvent_EnvelopeOnlySampleUntouched(string frame)
    {
        _sample.CpuUsagePercent = 99;

        Assert.True(_parser.TryParseFrame(TestFrames.Utf8(frame), _sample, out var envelope, out var isMetrics, out var error), error.ToString());

        Assert.False(isMetrics);
        Assert.False(envelope.Payload.IsEmpty);
        Assert.Equal(99, _sample.CpuUsagePercent);
    }

    [Theory]
    [InlineData("""{"type":"event","action":"metrics","payload":{"cpuUsagePercent":1,"ramUsagePercent":1,"ramUsedGB":1,"uptimeSeconds":1,"diskUsage":[{"mountpoint":"/","totalGB":"1","usedGB":1,"usagePercent":1}]}}""")]
    [InlineData("""{"payload":{"cpuUsagePercent":1,"ramUsagePercent":1,"ramUsedGB":1,"uptimeSeconds":1,"diskUsage":[{"mountpoint":"/","totalGB":"1","usedGB":1,"usagePercent":1}]},"type":"event","action":"metrics"}""")]
    public void TryParseFrame_InvalidPayloadInEitherOrder_ErrorNamesTheFieldPath(string frame)
    {
        Assert.False(_parser.TryParseFrame(TestFrames.Utf8(frame), _sample, out _, out var isMetrics, out var error));

        Assert.True(isMetrics);
        Assert.Equal(ProtocolErrorReason.WrongType, error.Reason);
        Assert.Equal("diskUsage[0].totalGB must be a number, got string", error.Message);
    }

    [Fact]
    public void TryParseFrame_MetricsEventWithoutPayload_MissingField()
    {
        Assert.False(_parser.TryParseFrame(TestFrames.Utf8("""{"type":"event","action":"metrics","timestamp":1}"""), _sample, out _, out var isMetrics, out var error));

        Assert.True(isMetrics);
        Assert.Equal(ProtocolErrorReason.MissingField, error.Reason);
    }

    [Fact]
    public void TryParseFrame_MetricsPayloadNull_WrongType()
    {
        Assert.False(_parser.TryParseFrame(TestFrames.Utf8("""{"type":"event","action":"metrics","payload":null}"""), _sample, out _, out _, out var error));

        Assert.Equal(ProtocolErrorReason.WrongType, error.Reason);
        Assert.Equal("metrics payload must be an object, got null", error.Message);
    }

    [Fact]
    public void TryParseFrame_GarbageAfterValidPayload_MalformedJson()
    {
        var frame = TestFrames.RealisticMetricsFrame + "}";

        Assert.False(_parser.TryParseFrame(TestFrames.Utf8(frame), _sample, out _, out _, out var error));

        Assert.Equal(ProtocolErrorReason.MalformedJson, error.Reason);
    }

    [Fact]
    public void TryParseFrame_RealisticFrameSteadyState_AllocatesNothing()
    {
        var frame = TestFrames.Utf8(TestFrames.RealisticMetricsFrame);
        Assert.True(_parser.TryParseFrame(frame, _sample, out _, out _, out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            _ = _parser.TryParseFrame(frame, _sample, out _, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void TryParseFrame_MetricsEventRetypedAsResponseAfterPayload_DuplicateFieldNotMetrics()
    {
        // Regression (issue 9): the payload was parsed as metrics while "type" was "event", then the second "type"
        // made the frame a response, exempt from the event rate, and it was still published.
        var frame = $$"""{"type": "event", "action": "metrics", "payload": {{TestFrames.ProtocolExamplePayload}}, "type": "response"}""";

        Assert.False(_parser.TryParseFrame(TestFrames.Utf8(frame), _sample, out _, out _, out var error));

        Assert.Equal(ProtocolErrorReason.DuplicateField, error.Reason);
    }
}
