using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.AgentSimulator.Agent;

/// <summary>Per-agent log events. Debug for what happens to every agent at scale; warnings for what an operator must see.</summary>
internal static partial class AgentLog
{
    [LoggerMessage(LogEvents.ConnectFailed, LogLevel.Debug, "Agent {AgentId} could not connect to {ServerUrl}: {Error}")]
    public static partial void ConnectFailed(ILogger logger, string agentId, Uri serverUrl, string error);

    [LoggerMessage(LogEvents.Authenticated, LogLevel.Debug, "Agent {AgentId} authenticated")]
    public static partial void Authenticated(ILogger logger, string agentId);

    [LoggerMessage(LogEvents.AuthenticationFailed, LogLevel.Warning, "Agent {AgentId} was refused by the server: {Message}; it retries after the auth-failure backoff")]
    public static partial void AuthenticationFailed(ILogger logger, string agentId, string message);

    [LoggerMessage(LogEvents.TokenRevoked, LogLevel.Warning, "Agent {AgentId} has a revoked token ({Message}); it stops for good")]
    public static partial void TokenRevoked(ILogger logger, string agentId, string message);

    [LoggerMessage(LogEvents.AuthenticationTimedOut, LogLevel.Warning, "Agent {AgentId} got no authentication reply within {Timeout}; it drops the connection and retries")]
    public static partial void AuthenticationTimedOut(ILogger logger, string agentId, TimeSpan timeout);

    [LoggerMessage(LogEvents.ConnectionClosed, LogLevel.Debug, "Agent {AgentId}: the server closed the connection ({Status} {Reason})")]
    public static partial void ConnectionClosed(ILogger logger, string agentId, WebSocketCloseStatus? status, string? reason);

    [LoggerMessage(LogEvents.ConnectionLost, LogLevel.Debug, "Agent {AgentId} lost its connection: {Error}")]
    public static partial void ConnectionLost(ILogger logger, string agentId, string error);

    [LoggerMessage(LogEvents.SessionReplaced, LogLevel.Information, "Agent {AgentId}: the server replaced this session by a newer one ({Reason})")]
    public static partial void SessionReplaced(ILogger logger, string agentId, string? reason);

    [LoggerMessage(LogEvents.MalformedServerMessage, LogLevel.Debug, "Agent {AgentId} ignored a server message that is not a JSON object: {Error}")]
    public static partial void MalformedServerMessage(ILogger logger, string agentId, string error);

    [LoggerMessage(LogEvents.ServerMessageTooBig, LogLevel.Warning, "Agent {AgentId} got a message over {Limit} bytes and closes the connection with 1009, as the real agent does")]
    public static partial void ServerMessageTooBig(ILogger logger, string agentId, int limit);

    [LoggerMessage(LogEvents.ReconnectScheduled, LogLevel.Trace, "Agent {AgentId} reconnects in {Delay} ({Reason})")]
    public static partial void ReconnectScheduled(ILogger logger, string agentId, TimeSpan delay, string reason);

    [LoggerMessage(LogEvents.ConfigApplied, LogLevel.Debug, "Agent {AgentId} applied a new config: metrics every {Interval} (zero = paused), {WatchCount} watched services")]
    public static partial void ConfigApplied(ILogger logger, string agentId, TimeSpan interval, int watchCount);

    [LoggerMessage(LogEvents.SendFailed, LogLevel.Debug, "Agent {AgentId} could not send: {Error}")]
    public static partial void SendFailed(ILogger logger, string agentId, string error);

    [LoggerMessage(LogEvents.AgentFaulted, LogLevel.Error, "Agent {AgentId} stopped on an unexpected error")]
    public static partial void AgentFaulted(ILogger logger, string agentId, Exception exception);
}
