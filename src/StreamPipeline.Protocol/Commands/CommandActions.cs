namespace StreamPipeline.Protocol;

/// <summary>The request actions agents understand (agent-protocol.md section 4).</summary>
public static class CommandActions
{
    /// <summary>Host facts (hostname, OS, CPU...). No payload.</summary>
    public const string GetServerInfo = "get-server-info";

    /// <summary>List of systemd services. No payload.</summary>
    public const string GetServices = "get-services";

    /// <summary>One service's details. Payload <c>{"name":"..."}</c>.</summary>
    public const string GetService = "get-service";

    /// <summary>A service's last log lines (at most 1000). Payload <c>{"name":"..."}</c>.</summary>
    public const string GetServiceLog = "get-service-log";

    /// <summary>Restarts a service. Payload <c>{"name":"..."}</c>.</summary>
    public const string RestartService = "restart-service";

    /// <summary>List of processes. No payload.</summary>
    public const string GetProcesses = "get-processes";

    /// <summary>One process's details. Payload <c>{"pid":1234}</c>.</summary>
    public const string GetProcess = "get-process";

    /// <summary>Changes the metrics interval and the service watchlist. Payload <c>{"metricsInterval":10,"watchlist":["nginx"]}</c>.</summary>
    public const string UpdateAgentConfig = "update-agent-config";

    /// <summary>Every action above, in the order of the protocol's table.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        GetServerInfo, GetServices, GetService, GetServiceLog, RestartService, GetProcesses, GetProcess, UpdateAgentConfig,
    ];

    /// <summary>
    /// Whether an action changes the host (restart-service, update-agent-config). Such a request, once written to an
    /// agent's connection that then closed unanswered, is never sent again: the agent may have run it and lost its
    /// cache. The others only read and may be sent again.
    /// </summary>
    public static bool IsSideEffecting(string action) => action is RestartService or UpdateAgentConfig;

    /// <summary>
    /// How long each action may take once sent, unless configured (Dispatcher:ActionTimeouts): a service restart or a
    /// 1000-line log takes longer than server info.
    /// </summary>
    public static IReadOnlyDictionary<string, TimeSpan> DefaultTimeouts { get; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        [GetServerInfo] = TimeSpan.FromSeconds(10),
        [GetServices] = TimeSpan.FromSeconds(15),
        [GetService] = TimeSpan.FromSeconds(10),
        [GetServiceLog] = TimeSpan.FromSeconds(60),
        [RestartService] = TimeSpan.FromSeconds(60),
        [GetProcesses] = TimeSpan.FromSeconds(15),
        [GetProcess] = TimeSpan.FromSeconds(10),
        [UpdateAgentConfig] = TimeSpan.FromSeconds(10),
    };
}
