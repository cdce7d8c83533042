using System.Net;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.AgentSimulator.Transport;

namespace StreamPipeline.AgentSimulator;

/// <summary>
/// Settings of a simulated agent fleet. Bound from the configuration section <c>Simulator</c> by the CLI;
/// built directly by in-process users (tests, the local stack). <see cref="Validate"/> reports every error at once.
/// </summary>
public sealed class SimulatorOptions
{
    /// <summary>The configuration section the CLI binds.</summary>
    public const string SectionName = "Simulator";

    /// <summary>The largest fleet one process may run.</summary>
    public const int MaxAgentCount = 100_000;

    /// <summary>Where the agents connect. Default <c>wss://127.0.0.1:8443/agent</c>.</summary>
    public Uri ServerUrl { get; set; } = new("wss://127.0.0.1:8443/agent");

    /// <summary>PEM file with the connector's certificate or the CA to trust (in addition to the system roots).</summary>
    public string? TrustedCertificatePath { get; set; }

    /// <summary>Skips server certificate validation. Development only. Default false.</summary>
    public bool AcceptAnyServerCertificate { get; set; }

    /// <summary>Number of simulated agents, 1 to 100,000. Default 1.</summary>
    public int AgentCount { get; set; } = 1;

    /// <summary>The number of the first agent: agent ids are <c>{AgentIdPrefix}{n:D6}</c> for n from here on. Default 1.</summary>
    public int FirstAgentNumber { get; set; } = 1;

    /// <summary>Prefix of every agent id. Default <c>sim-</c>.</summary>
    public string AgentIdPrefix { get; set; } = "sim-";

    /// <summary>Seed of the agents' tokens: token = lowercase hex SHA-256 of <c>TokenSeed + ":" + agentId</c>.</summary>
    public string? TokenSeed { get; set; }

    /// <summary>In-process only: the token of an agent id, overriding <see cref="TokenSeed"/>.</summary>
    public Func<string, string>? Tokens { get; set; }

    /// <summary>Initial metrics period, 0 to 3600 s (0 pauses metrics). Default 5 s. The server may change it per agent.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>New connections per second across the fleet (0 = unlimited). Default 1000.</summary>
    public double ConnectRatePerSecond { get; set; } = 1000;

    /// <summary>Budget of one TCP + TLS + WebSocket handshake. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an agent waits for the authentication reply before it drops the connection. Default 10 s.</summary>
    public TimeSpan AuthenticationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="MaxReconnectDelay"/>, with jitter. Default 1 s.</summary>
    public TimeSpan MinReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the reconnect delay. Default 60 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Least delay after a failed authentication or a 1008 close (policy violation). Default 30 s.</summary>
    public TimeSpan AuthFailureReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After a 1001 close (connector draining) agents reconnect after a random delay up to this. Default 2 s.</summary>
    public TimeSpan GoingAwayReconnectJitter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An agent whose authentication error says "revoked" stops for good. Default true.</summary>
    public bool StopOnRevokedToken { get; set; } = true;

    /// <summary>WebSocket ping period (the real agent's library pings every 20 s). Default 20 s; zero disables.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a ping may stay unanswered before the connection is dropped. Default 20 s; zero disables.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest message an agent accepts; a larger one closes the connection with 1009, as the real agent's library does (1 MiB).</summary>
    public int MaxIncomingMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Request ids remembered per agent for the response cache. Default 10,000.</summary>
    public int RequestCacheCapacity { get; set; } = 10_000;

    /// <summary>Bytes of cached responses kept per agent; the oldest go first. Default 16 MiB.</summary>
    public int RequestCacheMaxBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>How long cached responses live and when an answer enters the cache. Default <see cref="RequestCacheMode.KeptAcrossReconnects"/>.</summary>
    public RequestCacheMode RequestCacheMode { get; set; } = RequestCacheMode.KeptAcrossReconnects;

    /// <summary>
    /// Every cache mode in one fleet: agent number n uses the ((n - 1) mod 3)-th <see cref="Responses.RequestCacheMode"/>
    /// (1 keeps its cache, 2 loses it on reconnect, 3 caches on completion, 4 keeps it, ...) and
    /// <see cref="RequestCacheMode"/> is ignored. For tests that run one scenario against every agent strength at once.
    /// Default off.
    /// </summary>
    public bool MixRequestCacheModes { get; set; }

    /// <summary>Where an error answer carries its status and message. Default <see cref="ErrorReplyShape.InPayload"/>.</summary>
    public ErrorReplyShape ErrorReplies { get; set; } = ErrorReplyShape.InPayload;

    /// <summary>Lines returned by <c>get-service-log</c>, 0 to 1000. Default 1000 (the real agent's maximum).</summary>
    public int ServiceLogLines { get; set; } = 1000;

    /// <summary>
    /// Size in bytes of the whole <c>get-service-log</c> answer payload (the last line is padded up to it), for tests of
    /// large answers; 0 keeps the natural size (about 126 KB for 1000 lines). At most 64 MiB. Default 0.
    /// </summary>
    public int ServiceLogBytes { get; set; }

    /// <summary>Time an agent spends on each executed request before answering (simulates slow commands). Default zero.</summary>
    public TimeSpan ResponseDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Local source addresses to spread connections over (agent n uses entry n mod count), to lift the ephemeral-port
    /// limit of one address. Entries are addresses or IPv4 ranges such as <c>127.0.0.1..127.0.0.20</c>. Empty: the OS picks.
    /// </summary>
    public IList<string> LocalAddresses { get; set; } = [];

    /// <summary>How the misbehaving agents misbehave. Default <see cref="AgentMisbehaviour.None"/>.</summary>
    public AgentMisbehaviour Misbehaviour { get; set; } = AgentMisbehaviour.None;

    /// <summary>Share of the fleet that misbehaves, 0 to 1, spread evenly over the agent numbers. Default 1.</summary>
    public double MisbehaviourFraction { get; set; } = 1.0;

    /// <summary>Size of a frame sent in <see cref="AgentMisbehaviour.OversizedFrames"/> mode. Default 2 MiB.</summary>
    public int OversizedFrameBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Seed of the simulated hosts and random walks, so a run is reproducible. Default 0.</summary>
    public int RandomSeed { get; set; }

    /// <summary>Period of the CLI's stats line. Default 5 s.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>In-process only: called with the agent id and a copy of every metrics frame, once it was sent.</summary>
    public Action<string, byte[]>? OnMetricsSent { get; set; }

    /// <summary>In-process only: the clock of schedules, backoff and timestamps. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Every problem of these settings, each naming the setting and what to do; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ServerUrl is null || !ServerUrl.IsAbsoluteUri || (ServerUrl.Scheme != "wss" && ServerUrl.Scheme != "ws"))
        {
            errors.Add($"Simulator:ServerUrl must be an absolute wss:// (or ws://) URL such as wss://127.0.0.1:8443/agent; got '{ServerUrl}'.");
        }

        if (AgentCount is < 1 or > MaxAgentCount)
        {
            errors.Add($"Simulator:AgentCount must be between 1 and {MaxAgentCount}; got {AgentCount}.");
        }

        if (FirstAgentNumber < 0 || (long)FirstAgentNumber + AgentCount - 1 > 999_999)
        {
            errors.Add($"Simulator:FirstAgentNumber must be 0 or more, and FirstAgentNumber + AgentCount - 1 at most 999999 (six digits); got {FirstAgentNumber}.");
        }

        if (string.IsNullOrWhiteSpace(AgentIdPrefix) || AgentIdPrefix.Length > 64)
        {
            errors.Add("Simulator:AgentIdPrefix must be 1 to 64 non-blank characters, e.g. 'sim-'.");
        }

        if (Tokens is null && string.IsNullOrEmpty(TokenSeed))
        {
            errors.Add("Simulator:TokenSeed is required (the connector must be provisioned with SimulatedFleet.TokenFor(seed, agentId)); set e.g. --Simulator:TokenSeed=dev.");
        }

        if (MetricsInterval < TimeSpan.Zero || MetricsInterval > TimeSpan.FromSeconds(3600))
        {
            errors.Add($"Simulator:MetricsInterval must be between 00:00:00 (paused) and 01:00:00; got {MetricsInterval}.");
        }

        if (double.IsNaN(ConnectRatePerSecond) || ConnectRatePerSecond < 0)
        {
            errors.Add($"Simulator:ConnectRatePerSecond must be 0 (unlimited) or more; got {ConnectRatePerSecond}.");
        }

        RequirePositive(errors, nameof(ConnectTimeout), ConnectTimeout);
        RequirePositive(errors, nameof(AuthenticationTimeout), AuthenticationTimeout);
        RequirePositive(errors, nameof(MinReconnectDelay), MinReconnectDelay);
        if (MaxReconnectDelay < MinReconnectDelay)
        {
            errors.Add($"Simulator:MaxReconnectDelay ({MaxReconnectDelay}) must be at least Simulator:MinReconnectDelay ({MinReconnectDelay}).");
        }

        RequireNotNegative(errors, nameof(AuthFailureReconnectDelay), AuthFailureReconnectDelay);
        RequireNotNegative(errors, nameof(GoingAwayReconnectJitter), GoingAwayReconnectJitter);
        RequireNotNegative(errors, nameof(KeepAliveInterval), KeepAliveInterval);
        RequireNotNegative(errors, nameof(KeepAliveTimeout), KeepAliveTimeout);
        RequireNotNegative(errors, nameof(ResponseDelay), ResponseDelay);
        RequirePositive(errors, nameof(StatsInterval), StatsInterval);

        if (MaxIncomingMessageBytes is < 1024 or > 256 * 1024 * 1024)
        {
            errors.Add($"Simulator:MaxIncomingMessageBytes must be between 1024 and 268435456; got {MaxIncomingMessageBytes}.");
        }

        if (RequestCacheCapacity is < 1 or > 1_000_000)
        {
            errors.Add($"Simulator:RequestCacheCapacity must be between 1 and 1000000; got {RequestCacheCapacity}.");
        }

        if (RequestCacheMaxBytes < 1024)
        {
            errors.Add($"Simulator:RequestCacheMaxBytes must be at least 1024; got {RequestCacheMaxBytes}.");
        }

        if (ServiceLogLines is < 0 or > 1000)
        {
            errors.Add($"Simulator:ServiceLogLines must be between 0 and 1000 (the agent's maximum); got {ServiceLogLines}.");
        }

        if (ServiceLogBytes is < 0 or > 64 * 1024 * 1024)
        {
            errors.Add($"Simulator:ServiceLogBytes must be between 0 (natural size) and 67108864; got {ServiceLogBytes}.");
        }

        if (!Enum.IsDefined(RequestCacheMode))
        {
            errors.Add($"Simulator:RequestCacheMode must be one of {string.Join(", ", Enum.GetNames<RequestCacheMode>())}; got {RequestCacheMode}.");
        }

        if (!Enum.IsDefined(ErrorReplies))
        {
            errors.Add($"Simulator:ErrorReplies must be one of {string.Join(", ", Enum.GetNames<ErrorReplyShape>())}; got {ErrorReplies}.");
        }

        if (!LocalAddressList.TryParse(LocalAddresses, out _, out var addressError))
        {
            errors.Add($"Simulator:LocalAddresses: {addressError}");
        }

        if (!Enum.IsDefined(Misbehaviour))
        {
            errors.Add($"Simulator:Misbehaviour must be one of {string.Join(", ", Enum.GetNames<AgentMisbehaviour>())}; got {Misbehaviour}.");
        }

        if (double.IsNaN(MisbehaviourFraction) || MisbehaviourFraction is < 0 or > 1)
        {
            errors.Add($"Simulator:MisbehaviourFraction must be between 0 and 1; got {MisbehaviourFraction}.");
        }

        if (OversizedFrameBytes is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add($"Simulator:OversizedFrameBytes must be between 1024 and 67108864; got {OversizedFrameBytes}.");
        }

        if (TimeProvider is null)
        {
            errors.Add("Simulator:TimeProvider must not be null; leave it at TimeProvider.System.");
        }

        return errors;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every problem when the settings are invalid.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid agent simulator settings:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", errors));
        }
    }

    internal IReadOnlyList<IPAddress> ParsedLocalAddresses()
    {
        return LocalAddressList.TryParse(LocalAddresses, out var addresses, out _) ? addresses : [];
    }

    private static void RequirePositive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"Simulator:{name} must be greater than zero; got {value}.");
        }
    }

    private static void RequireNotNegative(List<string> errors, string name, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            errors.Add($"Simulator:{name} must not be negative; got {value}.");
        }
    }
}
