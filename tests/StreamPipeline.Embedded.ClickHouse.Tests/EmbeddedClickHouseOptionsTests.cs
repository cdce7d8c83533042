namespace StreamPipeline.Embedded.ClickHouse.Tests;

public sealed class EmbeddedClickHouseOptionsTests
{
    [Fact]
    public void Validate_Defaults_HasNoErrors() => Assert.Empty(new EmbeddedClickHouseOptions().Validate());

    [Fact]
    public void Validate_SeveralBadSettings_ReportsEachByName()
    {
        var errors = new EmbeddedClickHouseOptions { Host = "0.0.0.0", Port = 70000, DataPath = " ", MaxServerMemoryBytes = 1, MaxConcurrentQueries = 0 }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Host ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Port ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("DataPath ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MaxServerMemoryBytes ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MaxConcurrentQueries ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<EmbeddedClickHouseException>(() => EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { Port = -1 }));

        Assert.Contains("Port -1", error.Message, StringComparison.Ordinal);
    }
}
