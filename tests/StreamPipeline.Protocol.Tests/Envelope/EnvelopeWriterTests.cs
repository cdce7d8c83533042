using System.Buffers;
using System.Text;

namespace StreamPipeline.Protocol.Tests.Envelope;

public sealed class EnvelopeWriterTests
{
    [Fact]
    public void WriteAuthenticateOk_ExactShapeOfProtocolSection6()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteAuthenticateOk(output, requestId: 7, timestampMs: 1733936600000);

        Assert.Equal(
            """{"type":"response","id":7,"action":"authenticate","status":"ok","payload":{"status":"ok"},"timestamp":1733936600000}""",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void WriteAuthenticateError_StatusAndMessageAtBothLevels()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteAuthenticateError(output, requestId: 0, "invalid token", timestampMs: 1);

        Assert.Equal(
            """{"type":"response","id":0,"action":"authenticate","status":"error","message":"invalid token","payload":{"status":"error","message":"invalid token"},"timestamp":1}""",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void WriteRequest_WithPayload_ExactEnvelope()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteRequest(output, 42, CommandActions.GetProcess, """{"pid":1234}"""u8, 1733936600000);

        Assert.Equal(
            """{"type":"request","id":42,"action":"get-process","payload":{"pid":1234},"timestamp":1733936600000}""",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void WriteRequest_EmptyPayload_WritesNull()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteRequest(output, 1, CommandActions.GetServices, default, 5);

        Assert.Equal("""{"type":"request","id":1,"action":"get-services","payload":null,"timestamp":5}""", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(EnvelopeWriter.MaxRequestId + 1)]
    public void WriteRequest_IdOutsideSafeRange_Throws(long id)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvelopeWriter.WriteRequest(new ArrayBufferWriter<byte>(), id, "get-services", default, 0));
    }

    [Fact]
    public void WriteRequest_LargestSafeId_Written()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteRequest(output, EnvelopeWriter.MaxRequestId, "get-services", default, 0);

        Assert.Contains("\"id\":9007199254740991,", Encoding.UTF8.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_InvalidPayloadJson_Throws()
    {
        Assert.ThrowsAny<Exception>(() => EnvelopeWriter.WriteRequest(new ArrayBufferWriter<byte>(), 1, "get-process", "{\"pid\":"u8.ToArray(), 0));
    }

    [Fact]
    public void WriteResponse_ParsesBackWithEnvelopeParser()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteResponse(output, 9, CommandActions.RestartService, """{"status":"ok"}"""u8, 77);

        Assert.True(EnvelopeParser.TryParse(output.WrittenSpan, out var envelope, out var error), error.ToString());
        Assert.Equal(EnvelopeType.Response, envelope.Type);
        Assert.Equal(9, envelope.Id);
        Assert.True(envelope.ActionIs("restart-service"u8));
        Assert.Equal("""{"status":"ok"}""", Encoding.UTF8.GetString(envelope.Payload));
        Assert.Equal(77, envelope.Timestamp);
    }

    [Fact]
    public void WriteEvent_ParsesBackAsEvent()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteEvent(output, 3, "metrics", TestFrames.Utf8(TestFrames.ProtocolExamplePayload), 11);

        Assert.True(EnvelopeParser.TryParse(output.WrittenSpan, out var envelope, out _));
        Assert.Equal(EnvelopeType.Event, envelope.Type);
        Assert.True(new MetricsParser().TryParse(envelope.Payload, new MetricsSample(), out var error), error.ToString());
    }

    [Fact]
    public void WriteAuthenticateRequest_ExactlyWhatAgentsSend()
    {
        var output = new ArrayBufferWriter<byte>();

        EnvelopeWriter.WriteAuthenticateRequest(output, "agent-1", "s3cret");

        Assert.Equal(
            """{"type":"request","action":"authenticate","payload":{"agent_id":"agent-1","token":"s3cret"}}""",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
