using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Transport;

public sealed class TlsTests
{
    [Fact]
    public async Task Connect_UntrustedCertificate_FailsAndNeverAuthenticates()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.TrustedCertificatePath = null;
        await using var fleet = SimulatedFleet.Start(options);

        await Eventually.TrueAsync(() => fleet.Stats.ConnectFailures >= 2, TimeSpan.FromSeconds(20), "two refused TLS handshakes");

        Assert.Empty(server.Connections);
        Assert.Equal(0, fleet.Stats.Connects);
    }

    [Fact]
    public async Task Connect_AcceptAnyServerCertificate_Authenticates()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.TrustedCertificatePath = null;
        options.AcceptAnyServerCertificate = true;
        await using var fleet = SimulatedFleet.Start(options);

        await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromSeconds(20));
    }
}
