using System.Text;
using System.Text.Json;

namespace StreamPipeline.Protocol.Tests.Commands;

public sealed class CommandValidatorTests
{
    [Theory]
    [InlineData("get-server-info", "")]
    [InlineData("get-server-info", "null")]
    [InlineData("get-services", "{}")]
    [InlineData("get-processes", """{"ignored":true}""")]
    public void TryValidate_ActionWithoutPayload_SendsNull(string action, string payload)
    {
        Assert.True(CommandValidator.TryValidate(action, Encoding.UTF8.GetBytes(payload), out var normalized, out var error), error.ToString());

        Assert.Equal("null", Encoding.UTF8.GetString(normalized));
    }

    [Theory]
    [InlineData("get-service")]
    [InlineData("get-service-log")]
    [InlineData("restart-service")]
    public void TryValidate_ServiceActionWithName_OnlyNameSent(string action)
    {
        Assert.True(CommandValidator.TryValidate(action, """{"name":"nginx","extra":1}"""u8, out var normalized, out var error), error.ToString());

        Assert.Equal("""{"name":"nginx"}""", Encoding.UTF8.GetString(normalized));
    }

    [Theory]
    [InlineData("get-service", "", ProtocolErrorReason.MissingField)]
    [InlineData("get-service", "null", ProtocolErrorReason.MissingField)]
    [InlineData("get-service-log", "{}", ProtocolErrorReason.MissingField)]
    [InlineData("restart-service", """{"name":null}""", ProtocolErrorReason.MissingField)]
    [InlineData("restart-service", """{"name":""}""", ProtocolErrorReason.InvalidValue)]
    [InlineData("restart-service", """{"name":"   "}""", ProtocolErrorReason.InvalidValue)]
    [InlineData("get-service", """{"name":42}""", ProtocolErrorReason.WrongType)]
    [InlineData("get-service", """{"name":["nginx"]}""", ProtocolErrorReason.WrongType)]
    [InlineData("get-service", """["nginx"]""", ProtocolErrorReason.WrongType)]
    [InlineData("get-service", """{"name":"nginx""", ProtocolErrorReason.MalformedJson)]
    public void TryValidate_ServiceActionWithoutValidName_Rejected(string action, string payload, ProtocolErrorReason reason)
    {
        Assert.False(CommandValidator.TryValidate(action, Encoding.UTF8.GetBytes(payload), out var normalized, out var error));

        Assert.Null(normalized);
        Assert.Equal(reason, error.Reason);
        Assert.Contains(action, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_ServiceNameTooLong_StringTooLong()
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(new { name = new string('a', CommandValidator.MaxNameBytes + 1) });

        Assert.False(CommandValidator.TryValidate("restart-service", payload, out _, out var error));

        Assert.Equal(ProtocolErrorReason.StringTooLong, error.Reason);
    }

    [Theory]
    [InlineData("1234", 1234)]
    [InlineData("\"1234\"", 1234)]
    [InlineData("\" 42 \"", 42)]
    [InlineData("\"\\t42\\n\"", 42)]
    [InlineData("\"-1\"", -1)]
    [InlineData("\"+7\"", 7)]
    [InlineData("\"007\"", 7)]
    [InlineData("\"1_000\"", 1000)]
    [InlineData("-1", -1)]
    [InlineData("0", 0)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("\"-9223372036854775808\"", long.MinValue)]
    public void TryValidate_PidPythonIntAccepts_SentAsInteger(string pid, long expected)
    {
        Assert.True(CommandValidator.TryValidate("get-process", Encoding.UTF8.GetBytes($$"""{"pid":{{pid}}}"""), out var normalized, out var error), error.ToString());

        Assert.Equal($$"""{"pid":{{expected}}}""", Encoding.UTF8.GetString(normalized));
    }

    [Theory]
    [InlineData("12.5", ProtocolErrorReason.WrongType)]
    [InlineData("12.0", ProtocolErrorReason.WrongType)]
    [InlineData("1e3", ProtocolErrorReason.WrongType)]
    [InlineData("null", ProtocolErrorReason.MissingField)]
    [InlineData("true", ProtocolErrorReason.WrongType)]
    [InlineData("[1234]", ProtocolErrorReason.WrongType)]
    [InlineData("{}", ProtocolErrorReason.WrongType)]
    [InlineData("\"12a\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"12.5\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"  \"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"-\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"0x10\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"1__0\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"_1\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"1_\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"1 2\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"--1\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("\"\u0661\u0662\"", ProtocolErrorReason.InvalidValue)]
    [InlineData("99999999999999999999", ProtocolErrorReason.OutOfRange)]
    [InlineData("\"9223372036854775808\"", ProtocolErrorReason.OutOfRange)]
    public void TryValidate_PidPythonIntRejectsOrNotAnInteger_Rejected(string pid, ProtocolErrorReason reason)
    {
        Assert.False(CommandValidator.TryValidate("get-process", Encoding.UTF8.GetBytes($$"""{"pid":{{pid}}}"""), out _, out var error));

        Assert.Equal(reason, error.Reason);
        Assert.Contains("payload.pid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_PidMissing_MissingField()
    {
        Assert.False(CommandValidator.TryValidate("get-process", "{}"u8, out _, out var error));

        Assert.Equal(ProtocolErrorReason.MissingField, error.Reason);
        Assert.Equal("'get-process' payload.pid is required but missing or null", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(3600)]
    public void TryValidate_ConfigIntervalInRange_Normalized(int interval)
    {
        var payload = Encoding.UTF8.GetBytes($$"""{"metricsInterval":{{interval}},"watchlist":["nginx","db"],"other":1}""");

        Assert.True(CommandValidator.TryValidate("update-agent-config", payload, out var normalized, out var error), error.ToString());

        Assert.Equal($$"""{"metricsInterval":{{interval}},"watchlist":["nginx","db"]}""", Encoding.UTF8.GetString(normalized));
    }

    [Theory]
    [InlineData("-1", ProtocolErrorReason.OutOfRange)]
    [InlineData("3601", ProtocolErrorReason.OutOfRange)]
    [InlineData("99999999999", ProtocolErrorReason.OutOfRange)]
    [InlineData("10.5", ProtocolErrorReason.WrongType)]
    [InlineData("10.0", ProtocolErrorReason.WrongType)]
    [InlineData("\"10\"", ProtocolErrorReason.WrongType)]
    [InlineData("true", ProtocolErrorReason.WrongType)]
    [InlineData("null", ProtocolErrorReason.MissingField)]
    public void TryValidate_ConfigIntervalInvalid_Rejected(string interval, ProtocolErrorReason reason)
    {
        var payload = Encoding.UTF8.GetBytes($$"""{"metricsInterval":{{interval}},"watchlist":[]}""");

        Assert.False(CommandValidator.TryValidate("update-agent-config", payload, out _, out var error));

        Assert.Equal(reason, error.Reason);
        Assert.Contains("payload.metricsInterval", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"metricsInterval":10,"watchlist":["nginx",5]}""", ProtocolErrorReason.WrongType, "'update-agent-config' payload.watchlist[1] must be a string, got number")]
    [InlineData("""{"metricsInterval":10,"watchlist":[null]}""", ProtocolErrorReason.WrongType, "'update-agent-config' payload.watchlist[0] must be a string, got null")]
    [InlineData("""{"metricsInterval":10,"watchlist":"nginx"}""", ProtocolErrorReason.WrongType, "'update-agent-config' payload.watchlist must be a list of strings, got string")]
    [InlineData("""{"metricsInterval":10}""", ProtocolErrorReason.MissingField, "'update-agent-config' payload.watchlist is required but missing or null")]
    [InlineData("""{"watchlist":[]}""", ProtocolErrorReason.MissingField, "'update-agent-config' payload.metricsInterval is required but missing or null")]
    public void TryValidate_ConfigWatchlistInvalid_Rejected(string payload, ProtocolErrorReason reason, string message)
    {
        Assert.False(CommandValidator.TryValidate("update-agent-config", Encoding.UTF8.GetBytes(payload), out _, out var error));

        Assert.Equal(reason, error.Reason);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void TryValidate_ConfigEmptyWatchlist_Accepted()
    {
        Assert.True(CommandValidator.TryValidate("update-agent-config", """{"metricsInterval":5,"watchlist":[]}"""u8, out var normalized, out _));

        Assert.Equal("""{"metricsInterval":5,"watchlist":[]}""", Encoding.UTF8.GetString(normalized));
    }

    [Theory]
    [InlineData("authenticate")]
    [InlineData("reboot")]
    [InlineData("")]
    [InlineData("GET-SERVICES")]
    public void TryValidate_UnknownAction_UnknownAction(string action)
    {
        Assert.False(CommandValidator.TryValidate(action, default(ReadOnlySpan<byte>), out _, out var error));

        Assert.Equal(ProtocolErrorReason.UnknownAction, error.Reason);
        Assert.Contains("get-server-info", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_JsonElementOverload_SameRules()
    {
        using var document = JsonDocument.Parse("""{"pid":" 1234 "}""");

        Assert.True(CommandValidator.TryValidate("get-process", document.RootElement, out var normalized, out _));

        Assert.Equal("""{"pid":1234}""", Encoding.UTF8.GetString(normalized));
    }

    [Fact]
    public void All_HasEveryProtocolAction()
    {
        Assert.Equal(
            ["get-server-info", "get-services", "get-service", "get-service-log", "restart-service", "get-processes", "get-process", "update-agent-config"],
            CommandActions.All);
    }
}
