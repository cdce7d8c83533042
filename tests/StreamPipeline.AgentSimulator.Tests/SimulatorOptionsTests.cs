using System.Net;
using StreamPipeline.AgentSimulator.Transport;

namespace StreamPipeline.AgentSimulator.Tests;

public sealed class SimulatorOptionsTests
{
    [Fact]
    public void Validate_Defaults_NeedOnlyATokenSeed()
    {
        var options = new SimulatorOptions();

        Assert.Single(options.Validate(), e => e.Contains("Simulator:TokenSeed", StringComparison.Ordinal));
        options.TokenSeed = "dev";
        Assert.Empty(options.Validate());
        Assert.Equal(new Uri("wss://127.0.0.1:8443/agent"), options.ServerUrl);
    }

    [Fact]
    public void Validate_EveryBadSetting_ReportsEachOneByName()
    {
        var options = new SimulatorOptions
        {
            ServerUrl = new Uri("https://example.test/agent"),
            AgentCount = 100_001,
            AgentIdPrefix = " ",
            MetricsInterval = TimeSpan.FromSeconds(-1),
            ConnectRatePerSecond = -1,
            MinReconnectDelay = TimeSpan.FromSeconds(10),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
            ServiceLogLines = 1001,
            LocalAddresses = ["127.0.0.300"],
            MisbehaviourFraction = 2,
            RequestCacheCapacity = 0,
        };

        var errors = string.Join("\n", options.Validate());

        foreach (var setting in new[] { "ServerUrl", "AgentCount", "AgentIdPrefix", "TokenSeed", "MetricsInterval", "ConnectRatePerSecond", "MaxReconnectDelay", "ServiceLogLines", "LocalAddresses", "MisbehaviourFraction", "RequestCacheCapacity" })
        {
            Assert.Contains("Simulator:" + setting, errors);
        }
    }

    [Fact]
    public void LocalAddresses_RangesAndLists_AreExpanded()
    {
        Assert.True(LocalAddressList.TryParse(["127.0.0.1..127.0.0.3", "127.0.1.1-127.0.1.2, ::1"], out var addresses, out _));

        Assert.Equal(
            ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.1.1", "127.0.1.2", "::1"],
            addresses.Select(a => a.ToString()));
        Assert.Equal(IPAddress.Parse("127.0.0.3"), addresses[2]);
    }

    [Theory]
    [InlineData("127.0.0.5..127.0.0.1")]
    [InlineData("::1..::2")]
    [InlineData("not-an-address")]
    public void LocalAddresses_BadEntry_IsRejected(string entry)
    {
        Assert.False(LocalAddressList.TryParse([entry], out _, out var error));
        Assert.Contains(entry, error);
    }
}
