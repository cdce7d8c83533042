using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Tests.Commands;

public sealed class ResponseInterpreterTests
{
    [Theory]
    [InlineData("{\"status\":\"ok\"}")]
    [InlineData("{\"status\":\"ok\",\"data\":{\"hostname\":\"h\"}}")]
    [InlineData("[{\"name\":\"nginx\",\"activeState\":\"active\"}]")]
    [InlineData("{\"mainPID\":12}")]
    [InlineData("null")]
    [InlineData(null)]
    [InlineData("not json")]
    public void Interpret_AnythingButStatusError_Ok(string? json) =>
        Assert.Equal((CommandStatus.Ok, (string?)null), ResponseInterpreter.Interpret(json));

    [Fact]
    public void Interpret_StatusError_ErrorWithMessage() =>
        Assert.Equal((CommandStatus.Error, "boom"), ResponseInterpreter.Interpret("{\"status\":\"error\",\"message\":\"boom\"}"));

    [Fact]
    public void Interpret_StatusErrorWithoutMessage_ErrorSaysSo() =>
        Assert.Equal(CommandStatus.Error, ResponseInterpreter.Interpret("{\"status\":\"ERROR\"}").Status);
}
