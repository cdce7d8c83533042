using System.Net.WebSockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Telemetry;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// Closes live sessions whose credential was revoked, replaced or removed: a revocation bites the agent that is
/// connected now, not only its next login. A session is closed only if it authenticated against a store generation
/// older than the change, so an agent that already reconnected with its new token keeps its new session.
/// </summary>
internal sealed partial class CredentialEnforcer(ICredentialChangeFeed feed, SessionRegistry sessions, ConnectorMetrics metrics,
    ILogger<CredentialEnforcer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        feed.Changed += OnChanged;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        feed.Changed -= OnChanged;
        return Task.CompletedTask;
    }

    internal void OnChanged(CredentialChangeSet set)
    {
        foreach (var change in set.Changes)
        {
            if (!sessions.TryGet(change.AgentId, out var session) || session is null) continue;
            if (session.CredentialGeneration >= set.Generation) continue;
            var reason = change.Kind switch
            {
                CredentialChangeKind.Revoked => "token revoked",
                CredentialChangeKind.Replaced => "token replaced; reconnect with the new token",
                _ => "agent removed from the token store",
            };
            metrics.SessionRevoked(Label(change.Kind));
            LogClosing(logger, LogText.Escape(change.AgentId), session.SessionId, reason);
            session.RequestClose(WebSocketCloseStatus.PolicyViolation, reason);
        }
    }

    private static string Label(CredentialChangeKind kind) => kind switch
    {
        CredentialChangeKind.Revoked => "revoked",
        CredentialChangeKind.Replaced => "replaced",
        _ => "removed",
    };

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Agent {AgentId} session {SessionId} closed: {Reason}")]
    private static partial void LogClosing(ILogger logger, string agentId, string sessionId, string reason);
}
