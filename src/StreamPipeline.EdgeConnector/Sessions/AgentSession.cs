using System.Net;
using System.Net.WebSockets;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>One authenticated agent connection. Identity comes from authentication, never from a payload.</summary>
internal sealed class AgentSession(string agentId, WebSocket socket, IPAddress remoteAddress, long epoch, DateTimeOffset connectedAt, long credentialGeneration = 0)
{
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    public string AgentId { get; } = agentId;
    public string SessionId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>
    /// The connector's clock at authentication, in Unix ms, strictly increasing per agent on this connector. For people
    /// (and the sink): sessions are ordered across connectors by their CONNECTED record's position in agent-presence.
    /// </summary>
    public long Epoch { get; } = epoch;

    /// <summary>When this session's CONNECTED was last published (first at authentication, then each refresh).</summary>
    public DateTimeOffset PresencePublishedAt { get; set; } = connectedAt;
    public IPAddress RemoteAddress { get; } = remoteAddress;
    public DateTimeOffset ConnectedAt { get; } = connectedAt;
    public WebSocket Socket { get; } = socket;

    /// <summary>
    /// The session's presence record. Its first CONNECTED has <c>event_time</c> = <c>connected_time</c>; a CONNECTED with
    /// a later <c>event_time</c> is a refresh of a live session, not a new one.
    /// </summary>
    public StreamPipeline.Protocol.AgentPresence Presence(string connectorId, StreamPipeline.Protocol.PresenceStatus status, string reason, DateTimeOffset eventTime) => new()
    {
        AgentId = AgentId,
        ConnectorId = connectorId,
        SessionId = SessionId,
        Epoch = Epoch,
        Status = status,
        Reason = reason,
        RemoteAddress = RemoteAddress.ToString(),
        EventTimeMs = eventTime.ToUnixTimeMilliseconds(),
        ConnectedTimeMs = ConnectedAt.ToUnixTimeMilliseconds(),
    };

    /// <summary>The token store generation that accepted this session's credential (see <see cref="Authentication.CredentialChangeSet"/>).</summary>
    public long CredentialGeneration { get; } = credentialGeneration;

    /// <summary>Cancelled when the connector decides to close this session (replaced, draining).</summary>
    public CancellationToken Closing => _closing.Token;
    public WebSocketCloseStatus CloseStatus { get; private set; } = WebSocketCloseStatus.NormalClosure;
    public string? CloseReason { get; private set; }

    /// <summary>
    /// Closes the session from outside its read loop (replaced, draining, misbehaving): sends the close frame now,
    /// alongside the pending read, which then sees the agent's close reply and ends. A pending WebSocket read must not
    /// be cancelled instead: cancelling it aborts the socket and the agent would never learn why.
    /// </summary>
    public void RequestClose(WebSocketCloseStatus status, string reason)
    {
        lock (_closing)
        {
            if (_closing.IsCancellationRequested) return;
            CloseStatus = status;
            CloseReason = reason;
            _closing.Cancel();
        }

        _ = SendCloseAsync(status, reason);
    }

    private async Task SendCloseAsync(WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    await Socket.CloseOutputAsync(status, reason.Length > 120 ? reason[..120] : reason, timeout.Token);
            }
            finally
            {
                _sendLock.Release();
            }

            // The agent has a few seconds to answer the close; then the socket is cut.
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }

        try
        {
            if (Socket.State != WebSocketState.Closed) Socket.Abort();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Sends one text frame; frames from several writers never interleave. <paramref name="beforeWrite"/> runs once the
    /// socket is this writer's, right before the frame goes out; false skips the frame (returns false).
    /// </summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct, Func<bool>? beforeWrite = null)
    {
        await _sendLock.WaitAsync(ct);
        try
        {
            if (beforeWrite is not null && !beforeWrite()) return false;
            await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct);
            return true;
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
