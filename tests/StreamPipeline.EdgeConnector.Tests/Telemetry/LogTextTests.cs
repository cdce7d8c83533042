using StreamPipeline.EdgeConnector.Sessions;
using StreamPipeline.EdgeConnector.Telemetry;

namespace StreamPipeline.EdgeConnector.Tests.Telemetry;

public sealed class LogTextTests
{
    [Fact]
    public void Escape_CleanText_SameInstance()
    {
        var id = "web-042.example";

        Assert.Same(id, LogText.Escape(id));
    }

    [Theory]
    [InlineData("a\nb", "a\\u000ab")]
    [InlineData("a\r\nINFO forged", "a\\u000d\\u000aINFO forged")]
    [InlineData("\u001b[31mred", "\\u001b[31mred")]
    [InlineData("x\u2028y", "x\\u2028y")]
    public void Escape_ControlCharacters_EscapedOnOneLine(string text, string expected)
    {
        Assert.Equal(expected, LogText.Escape(text));
    }

    [Fact]
    public void Escape_LongText_CutWithItsLength()
    {
        var escaped = LogText.Escape(new string('a', 10_000));

        Assert.StartsWith(new string('a', LogText.MaxLength), escaped, StringComparison.Ordinal);
        Assert.EndsWith("...(10000 chars)", escaped, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"request","action":"authenticate","payload":{"agent_id":"a","token":"t"}}""", true)]
    [InlineData("""{"type":"event","action":"metrics","payload":{"token":"x"}}""", true)]
    [InlineData("""{"type":"event","action":"metrics","payload":{"cpuUsagePercent":"x"}}""", false)]
    public void MayCarryCredential_FrameMentioningAuthenticateOrToken_True(string frame, bool expected)
    {
        Assert.Equal(expected, AgentConnectionHandler.MayCarryCredential(System.Text.Encoding.UTF8.GetBytes(frame)));
    }
}
