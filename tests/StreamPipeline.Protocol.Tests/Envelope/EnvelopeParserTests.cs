using System.Text;
using System.Text.Json;

namespace StreamPipeline.Protocol.Tests.Envelope;

public sealed class EnvelopeParserTests
{
    [Fact]
    public void TryParse_FullEvent_ReturnsEveryField()
    {
        var frame = TestFrames.Utf8("""{"type":"event","id":12345,"action":"metrics","payload":{"a":[1,2]},"timestamp":1733936600000}""");

        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out var error), error.ToString());

        Assert.Equal(EnvelopeType.Event, envelope.Type);
        Assert.Equal(12345, envelope.Id);
        Assert.True(envelope.ActionIs("metrics"u8));
        Assert.Equal("metrics", envelope.GetAction());
        Assert.Equal("""{"a":[1,2]}""", Encoding.UTF8.GetString(envelope.Payload));
        Assert.Equal(JsonTokenType.StartObject, envelope.PayloadKind);
        Assert.Equal(1733936600000, envelope.Timestamp);
        Assert.True(error.IsNone);
    }

    [Theory]
    [InlineData("""{"type":"request","id":7,"action":"get-services","payload":{"x":1},"timestamp":5}""")]
    [InlineData("""{"timestamp":5,"payload":{"x":1},"action":"get-services","id":7,"type":"request"}""")]
    [InlineData("""{"payload":{"x":1},"type":"request","timestamp":5,"id":7,"action":"get-services"}""")]
    [InlineData(""" { "action" : "get-services" , "payload" : { "x" : 1 } , "id" : 7 , "type" : "request" , "timestamp" : 5 } """)]
    public void TryParse_FieldsInAnyOrder_SameEnvelope(string json)
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8(json), out var envelope, out var error), error.ToString());

        Assert.Equal(EnvelopeType.Request, envelope.Type);
        Assert.Equal(7, envelope.Id);
        Assert.True(envelope.ActionIs("get-services"u8));
        Assert.Equal(5, envelope.Timestamp);
        using var payload = JsonDocument.Parse(envelope.Payload.ToArray());
        Assert.Equal(1, payload.RootElement.GetProperty("x").GetInt32());
    }

    [Fact]
    public void TryParse_UnknownFields_Ignored()
    {
        var frame = TestFrames.Utf8("""{"version":2,"type":"event","meta":{"nested":[{"deep":{"type":"request"}}]},"action":"metrics","extra":null,"flags":[true,false],"payload":{}}""");

        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out var error), error.ToString());

        Assert.Equal(EnvelopeType.Event, envelope.Type);
        Assert.True(envelope.ActionIs("metrics"u8));
    }

    [Fact]
    public void TryParse_AuthenticateRequestWithoutIdOrTimestamp_Succeeds()
    {
        var frame = TestFrames.Utf8("""{"type":"request","action":"authenticate","payload":{"agent_id":"a-1","token":"t"}}""");

        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out var error), error.ToString());

        Assert.Null(envelope.Id);
        Assert.Null(envelope.Timestamp);
        Assert.True(envelope.ActionIs("authenticate"u8));
        Assert.Equal("""{"agent_id":"a-1","token":"t"}""", Encoding.UTF8.GetString(envelope.Payload));
    }

    [Fact]
    public void TryParse_NullIdAndTimestamp_TreatedAsAbsent()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"event","action":"metrics","id":null,"timestamp":null}"""), out var envelope, out _));

        Assert.Null(envelope.Id);
        Assert.Null(envelope.Timestamp);
    }

    [Theory]
    [InlineData("""{"a":1}""", JsonTokenType.StartObject)]
    [InlineData("""[{"pid":1},2]""", JsonTokenType.StartArray)]
    [InlineData("\"text \\\" with quote\"", JsonTokenType.String)]
    [InlineData("-12.5e3", JsonTokenType.Number)]
    [InlineData("null", JsonTokenType.Null)]
    [InlineData("true", JsonTokenType.True)]
    public void TryParse_PayloadOfAnyKind_ExactRawBytes(string payload, JsonTokenType kind)
    {
        var frame = TestFrames.Utf8($$"""{"type":"response","id":1,"payload": {{payload}} ,"timestamp":2}""");

        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out var error), error.ToString());

        Assert.Equal(payload, Encoding.UTF8.GetString(envelope.Payload));
        Assert.Equal(kind, envelope.PayloadKind);
    }

    [Fact]
    public void TryParse_PayloadAbsent_EmptyAndKindNone()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"request","id":3,"action":"get-services"}"""), out var envelope, out _));

        Assert.True(envelope.Payload.IsEmpty);
        Assert.Equal(JsonTokenType.None, envelope.PayloadKind);
    }

    [Fact]
    public void TryParse_ResponseWithoutAction_Succeeds()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"response","id":3,"payload":[]}"""), out var envelope, out var error), error.ToString());

        Assert.False(envelope.HasAction);
        Assert.True(envelope.ActionUtf8.IsEmpty);
    }

    [Theory]
    [InlineData("""{"id":1,"action":"metrics"}""", "field 'type' is required (request, response or event)")]
    [InlineData("""{"type":"event","id":1}""", "field 'action' is required in an event")]
    [InlineData("""{"type":"request","id":1,"action":null}""", "field 'action' is required in a request")]
    public void TryParse_RequiredFieldMissing_MissingField(string json, string message)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.MissingField, error.Reason);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("""{"type":"event","action":"metrics","timestamp":"1733936600000"}""", "field 'timestamp' must be an integer (Unix ms), got string")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":1733936600000.5}""", "field 'timestamp' must be an integer (Unix ms), got 1733936600000.5")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":1.7e12}""", "field 'timestamp' must be an integer (Unix ms), got 1.7e12")]
    [InlineData("""{"type":"event","action":"metrics","id":"7"}""", "field 'id' must be an integer, got string")]
    [InlineData("""{"type":"event","action":"metrics","id":7.5}""", "field 'id' must be an integer, got 7.5")]
    [InlineData("""{"type":"event","action":"metrics","id":true}""", "field 'id' must be an integer, got boolean")]
    [InlineData("""{"type":1,"action":"metrics"}""", "field 'type' must be a string, got number")]
    [InlineData("""{"type":"event","action":["metrics"]}""", "field 'action' must be a string, got array")]
    public void TryParse_FieldOfWrongType_WrongTypeNamingTheField(string json, string message)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.WrongType, error.Reason);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("""{"type":"event","action":"metrics","id":99999999999999999999}""", "id")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":-99999999999999999999}""", "timestamp")]
    public void TryParse_IntegerBeyond64Bits_OutOfRange(string json, string field)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.OutOfRange, error.Reason);
        Assert.StartsWith($"field '{field}' must fit a 64-bit integer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_LargestLongId_Accepted()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"response","id":9223372036854775807}"""), out var envelope, out _));

        Assert.Equal(long.MaxValue, envelope.Id);
    }

    [Fact]
    public void TryParse_UnknownTypeValue_InvalidValue()
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"notify","action":"metrics"}"""), out _, out var error));

        Assert.Equal(ProtocolErrorReason.InvalidValue, error.Reason);
        Assert.Equal("field 'type' must be request, response or event, got 'notify'", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("""{"type":}""")]
    [InlineData("""{"type":"event","action":"metrics",}""")]
    [InlineData("""{"type":"event","action":"metrics"} {"type":"event"}""")]
    [InlineData("""{"type":"event","action":"metrics"}x""")]
    [InlineData("""{"type":"event","action":"metrics","payload":{"cpu":NaN}}""")]
    [InlineData("""{'type':'event'}""")]
    [InlineData("""{"type":"event","action":"metrics","payload":[1,2}""")]
    public void TryParse_MalformedJson_MalformedJsonWithPosition(string json)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.MalformedJson, error.Reason);
        Assert.StartsWith("envelope is not valid JSON (line ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "array")]
    [InlineData("null", "null")]
    [InlineData("\"event\"", "string")]
    public void TryParse_RootNotAnObject_WrongType(string json, string got)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.WrongType, error.Reason);
        Assert.Equal($"envelope must be a JSON object, got {got}", error.Message);
    }

    [Fact]
    public void TryParse_EscapedNamesAndAction_Unescaped()
    {
        var frame = TestFrames.Utf8("""{"\u0074ype":"\u0065vent","action":"m\u0065trics"}""");

        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out var error), error.ToString());

        Assert.Equal(EnvelopeType.Event, envelope.Type);
        Assert.True(envelope.ActionIs("metrics"u8));
    }

    [Fact]
    public void TryParse_ActionTooLong_StringTooLong()
    {
        var frame = TestFrames.Utf8($$"""{"type":"event","action":"{{new string('a', EnvelopeParser.MaxActionBytes + 1)}}"}""");

        Assert.False(EnvelopeParser.TryParse(frame, out _, out var error));

        Assert.Equal(ProtocolErrorReason.StringTooLong, error.Reason);
    }

    [Fact]
    public void TryParse_InvalidUtf8InAction_MalformedJson()
    {
        byte[] frame = [.. "{\"type\":\"event\",\"action\":\"m"u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.False(EnvelopeParser.TryParse(frame, out _, out var error));

        Assert.Equal(ProtocolErrorReason.MalformedJson, error.Reason);
    }

    [Fact]
    public void TryParse_RealisticFrame_AllocatesNothing()
    {
        var frame = TestFrames.Utf8(TestFrames.RealisticMetricsFrame);
        Assert.True(EnvelopeParser.TryParse(frame, out _, out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            _ = EnvelopeParser.TryParse(frame, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("""{"type":"event","action":"metrics","payload":{},"type":"response"}""", "type")]
    [InlineData("""{"type":"event","id":1,"id":2,"action":"metrics"}""", "id")]
    [InlineData("""{"type":"event","action":"metrics","action":"other"}""", "action")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":1,"timestamp":2}""", "timestamp")]
    [InlineData("""{"type":"response","id":1,"payload":1,"payload":2}""", "payload")]
    public void TryParse_RepeatedEnvelopeField_DuplicateFieldNamingIt(string json, string field)
    {
        Assert.False(EnvelopeParser.TryParse(TestFrames.Utf8(json), out _, out var error));

        Assert.Equal(ProtocolErrorReason.DuplicateField, error.Reason);
        Assert.Contains($"'{field}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_RepeatedUnknownField_Ignored()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8("""{"type":"event","action":"metrics","x":1,"x":2}"""), out _, out var error), error.ToString());
    }
}
