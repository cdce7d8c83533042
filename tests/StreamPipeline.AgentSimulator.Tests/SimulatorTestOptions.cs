using StreamPipeline.AgentSimulator.Tests.TestServer;

namespace StreamPipeline.AgentSimulator.Tests;

/// <summary>Settings for fast tests against a <see cref="TestAgentServer"/>.</summary>
internal static class SimulatorTestOptions
{
    public const string Seed = "test-seed";

    public static SimulatorOptions For(TestAgentServer server, int agents = 1) => new()
    {
        ServerUrl = server.Url,
        TrustedCertificatePath = server.CertificatePemPath,
        AgentCount = agents,
        TokenSeed = Seed,
        MetricsInterval = TimeSpan.FromMilliseconds(200),
        ConnectRatePerSecond = 0,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AuthenticationTimeout = TimeSpan.FromSeconds(5),
        MinReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(400),
        AuthFailureReconnectDelay = TimeSpan.FromMilliseconds(300),
        GoingAwayReconnectJitter = TimeSpan.FromMilliseconds(100),
        ServiceLogLines = 50,
    };
}
