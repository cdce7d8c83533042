namespace StreamPipeline.EdgeConnector;

/// <summary>Settings of the edge connector (configuration section <c>EdgeConnector</c>). Defaults are production-sane.</summary>
public sealed class EdgeConnectorOptions
{
    public const string Section = "EdgeConnector";

    /// <summary>
    /// This connector's id, in presence events, on every metrics record, and how dispatchers route commands to it.
    /// Must be unique per process start: a restarted process with the same id would inherit requests it knows nothing
    /// of. Default: host name and a random suffix drawn at start (container pids repeat across restarts).
    /// </summary>
    public string ConnectorId { get; set; } = $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Address the agent (wss) listener binds. Default all interfaces.</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>Port of the agent (wss) listener. Default 8443.</summary>
    public int Port { get; set; } = 8443;

    /// <summary>Plain-HTTP port for /healthz, /readyz and /metrics; they are served on this listener only. Default 8080.</summary>
    public int OpsPort { get; set; } = 8080;

    /// <summary>
    /// Address the ops listener binds (its own setting, so probes and scrapes can stay on an internal interface while
    /// agents come in on a public one). Default all interfaces.
    /// </summary>
    public string OpsListenAddress { get; set; } = "0.0.0.0";

    /// <summary>Path agents connect to. Default <c>/agent</c>.</summary>
    public string Path { get; set; } = "/agent";

    /// <summary>PEM certificate (chain) file. ECDSA P-256 recommended; RSA works. Reloaded when it changes.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>PEM private key file of the certificate.</summary>
    public string CertificateKeyPath { get; set; } = "";

    /// <summary>Generate a self-signed ECDSA P-256 certificate at the two paths when they do not exist (local runs only).</summary>
    public bool GenerateDevelopmentCertificate { get; set; }

    /// <summary>The file credential store (<see cref="CredentialStore"/> <c>file</c>).</summary>
    public const string FileStore = "file";

    /// <summary>The Kafka credential store every connector follows (<see cref="CredentialStore"/> <c>kafka</c>).</summary>
    public const string KafkaStore = "kafka";

    /// <summary>
    /// Where agent tokens (their hashes) are kept: <c>file</c> (default; <see cref="TokenStorePath"/>, for a single
    /// node) or <c>kafka</c> (the compacted <see cref="CredentialsTopic"/> every connector follows, written by
    /// <c>spctl tokens</c>; docs/edge-connector.md "Tokens").
    /// </summary>
    public string CredentialStore { get; set; } = FileStore;

    /// <summary>Token store file (<see cref="CredentialStore"/> <c>file</c>): one line per agent, <c>agent_id sha256:HEX [revoked]</c>. Reloaded when it changes.</summary>
    public string TokenStorePath { get; set; } = "tokens.txt";

    /// <summary>Topic of the Kafka credential store (<see cref="CredentialStore"/> <c>kafka</c>). Default <c>agent-credentials</c>.</summary>
    public string CredentialsTopic { get; set; } = Kafka.Topics.PipelineTopics.Credentials;

    /// <summary>Time an agent has to authenticate after the socket opens. Default 10 s.</summary>
    public TimeSpan AuthenticationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Failed authentications allowed per minute per (source address, agent id) before further attempts for that pair
    /// are refused unchecked. Failures naming an agent id the store does not know share one key per address. Default 20.
    /// </summary>
    public int AuthFailuresPerMinutePerAddress { get; set; } = 20;

    /// <summary>(address, agent id) pairs the auth-failure throttle remembers; the least recently failed is forgotten first. Default 100,000.</summary>
    public int AuthThrottleMaxEntries { get; set; } = 100_000;

    /// <summary>
    /// Largest first (unauthenticated) frame, in bytes; a larger one closes the socket with 1009 before any parsing.
    /// An authenticate frame is about 200 bytes (agent id and token at most 512 bytes each). Default 4 KiB.
    /// </summary>
    public int MaxUnauthenticatedFrameBytes { get; set; } = 4096;

    /// <summary>
    /// Largest frame accepted, in bytes; a larger one closes the socket with 1009. Default 1 MiB: an answer to
    /// get-service-log (1000 lines) is about 130 KB. Buffers grow only as far as the bytes that actually arrive.
    /// </summary>
    public int MaxFrameBytes { get; set; } = 1024 * 1024;

    /// <summary>Events (metrics) per second one agent may send (sustained); bursts up to 4x. Answers to our own requests do not count. Default 5.</summary>
    public double AgentMessagesPerSecond { get; set; } = 5;

    /// <summary>Invalid or rate-limited frames one session may send per minute before it is closed with 1008. Default 30.</summary>
    public int MaxInvalidFramesPerMinute { get; set; } = 30;

    /// <summary>Per-frame problem log lines (invalid frames, unknown response ids) one session may write per minute; the rest are only counted. Default 5.</summary>
    public int FrameLogsPerSessionPerMinute { get; set; } = 5;

    /// <summary>Requests sent to agents and waiting for their answer, on this connector; beyond it a command is reported undeliverable. Default 200,000.</summary>
    public int MaxPendingRequests { get; set; } = Commands.PendingRequests.DefaultMaxEntries;

    /// <summary>Most concurrent agent sockets; beyond it new ones get HTTP 503. Default 120,000.</summary>
    public int MaxConnections { get; set; } = 120_000;

    /// <summary>New sockets admitted per second (a reconnect storm is shed with HTTP 503 and Retry-After). Default 2,000.</summary>
    public double AdmissionsPerSecond { get; set; } = 2_000;

    /// <summary>WebSocket ping interval. Default 30 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A peer that does not answer a ping within this time is dead and is closed. Default 30 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>On shutdown agents are closed ("going away") spread over this window so they do not all reconnect at once. Default 10 s.</summary>
    public TimeSpan DrainWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Records of every kind (metrics, presence, dead letters, command reports) produced but not yet acknowledged by
    /// Kafka; at the limit whoever produces waits (a socket is no longer read: backpressure). Default 50,000.
    /// </summary>
    public int MaxInFlightRecords { get; set; } = 50_000;

    /// <summary>
    /// How often the CONNECTED record of every live session is published again, so neither retention nor compaction of
    /// agent-presence can leave a connected agent without one (keep it well below the topic's retention.ms). Default 1 hour.
    /// </summary>
    public TimeSpan PresenceRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Topic names.</summary>
    public string MetricsTopic { get; set; } = Kafka.Topics.PipelineTopics.Metrics;
    public string PresenceTopic { get; set; } = Kafka.Topics.PipelineTopics.Presence;
    public string DeadLetterTopic { get; set; } = Kafka.Topics.PipelineTopics.MetricsDeadLetter;
    public string ConnectorRequestsTopic { get; set; } = Kafka.Topics.PipelineTopics.ConnectorRequests;
    public string ConnectorResponsesTopic { get; set; } = Kafka.Topics.PipelineTopics.ConnectorResponses;

    /// <summary>Every problem at once, each naming the setting and what to do.</summary>
    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectorId)) e.Add("EdgeConnector:ConnectorId must not be empty.");
        if (!System.Net.IPAddress.TryParse(ListenAddress, out _)) e.Add($"EdgeConnector:ListenAddress must be an IP address, got '{ListenAddress}'.");
        if (Port is < 0 or > 65535) e.Add($"EdgeConnector:Port must be 0..65535, got {Port}.");
        if (OpsPort is < 0 or > 65535) e.Add($"EdgeConnector:OpsPort must be 0..65535, got {OpsPort}.");
        if (!System.Net.IPAddress.TryParse(OpsListenAddress, out _)) e.Add($"EdgeConnector:OpsListenAddress must be an IP address, got '{OpsListenAddress}'.");
        if (Port != 0 && Port == OpsPort) e.Add("EdgeConnector:OpsPort must differ from EdgeConnector:Port.");
        if (!Path.StartsWith('/')) e.Add($"EdgeConnector:Path must start with '/', got '{Path}'.");
        if (string.IsNullOrWhiteSpace(CertificatePath) || string.IsNullOrWhiteSpace(CertificateKeyPath))
            e.Add("EdgeConnector:CertificatePath and EdgeConnector:CertificateKeyPath are required (PEM files); for a local run set EdgeConnector:GenerateDevelopmentCertificate=true.");
        else if (!GenerateDevelopmentCertificate && (!File.Exists(CertificatePath) || !File.Exists(CertificateKeyPath)))
            e.Add($"EdgeConnector:CertificatePath '{CertificatePath}' or EdgeConnector:CertificateKeyPath '{CertificateKeyPath}' does not exist.");
        if (CredentialStore is not (FileStore or KafkaStore))
            e.Add($"EdgeConnector:CredentialStore must be '{FileStore}' (the file at EdgeConnector:TokenStorePath, one node) or '{KafkaStore}' (the topic EdgeConnector:CredentialsTopic, shared by every connector), got '{CredentialStore}'.");
        else if (CredentialStore == FileStore && string.IsNullOrWhiteSpace(TokenStorePath)) e.Add("EdgeConnector:TokenStorePath is required with EdgeConnector:CredentialStore=file.");
        else if (CredentialStore == KafkaStore && string.IsNullOrWhiteSpace(CredentialsTopic)) e.Add("EdgeConnector:CredentialsTopic is required with EdgeConnector:CredentialStore=kafka (default agent-credentials).");
        if (AuthenticationTimeout <= TimeSpan.Zero || AuthenticationTimeout > TimeSpan.FromMinutes(5)) e.Add($"EdgeConnector:AuthenticationTimeout must be between 0 and 5 minutes, got {AuthenticationTimeout}.");
        if (AuthFailuresPerMinutePerAddress < 1) e.Add($"EdgeConnector:AuthFailuresPerMinutePerAddress must be at least 1, got {AuthFailuresPerMinutePerAddress}.");
        if (MaxFrameBytes is < 1024 or > 16 * 1024 * 1024) e.Add($"EdgeConnector:MaxFrameBytes must be 1 KiB..16 MiB, got {MaxFrameBytes}.");
        if (MaxUnauthenticatedFrameBytes < 1024 || MaxUnauthenticatedFrameBytes > MaxFrameBytes)
            e.Add($"EdgeConnector:MaxUnauthenticatedFrameBytes must be 1 KiB..EdgeConnector:MaxFrameBytes ({MaxFrameBytes}), got {MaxUnauthenticatedFrameBytes}; an authenticate frame needs at most about 1.2 KiB.");
        if (AuthThrottleMaxEntries < 100) e.Add($"EdgeConnector:AuthThrottleMaxEntries must be at least 100, got {AuthThrottleMaxEntries}.");
        if (FrameLogsPerSessionPerMinute < 0) e.Add($"EdgeConnector:FrameLogsPerSessionPerMinute must be 0 or more, got {FrameLogsPerSessionPerMinute}.");
        if (MaxPendingRequests < 1) e.Add($"EdgeConnector:MaxPendingRequests must be at least 1, got {MaxPendingRequests}.");
        if (AgentMessagesPerSecond <= 0) e.Add($"EdgeConnector:AgentMessagesPerSecond must be positive, got {AgentMessagesPerSecond}.");
        if (MaxInvalidFramesPerMinute < 1) e.Add($"EdgeConnector:MaxInvalidFramesPerMinute must be at least 1, got {MaxInvalidFramesPerMinute}.");
        if (MaxConnections < 1) e.Add($"EdgeConnector:MaxConnections must be at least 1, got {MaxConnections}.");
        if (AdmissionsPerSecond <= 0) e.Add($"EdgeConnector:AdmissionsPerSecond must be positive, got {AdmissionsPerSecond}.");
        if (KeepAliveInterval <= TimeSpan.Zero) e.Add($"EdgeConnector:KeepAliveInterval must be positive, got {KeepAliveInterval}.");
        if (KeepAliveTimeout <= TimeSpan.Zero) e.Add($"EdgeConnector:KeepAliveTimeout must be positive, got {KeepAliveTimeout}.");
        if (DrainWindow < TimeSpan.Zero || DrainWindow > TimeSpan.FromMinutes(10)) e.Add($"EdgeConnector:DrainWindow must be 0..10 minutes, got {DrainWindow}.");
        if (PresenceRefreshInterval < TimeSpan.FromSeconds(1) || PresenceRefreshInterval > TimeSpan.FromDays(7)) e.Add($"EdgeConnector:PresenceRefreshInterval must be 1 s..7 days, got {PresenceRefreshInterval}.");
        if (MaxInFlightRecords < 100) e.Add($"EdgeConnector:MaxInFlightRecords must be at least 100, got {MaxInFlightRecords}.");
        return e;
    }
}
