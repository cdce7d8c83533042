using System.Net;
using System.Net.WebSockets;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>One authenticated agent connection. Identity comes from authentication, never from a payload.</summary>
internal sealed class AgentSession(string agentId, WebSocket socket, IPAddress remoteAddress, long epoch, DateTimeOffset connectedAt)
{
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    public string AgentId { get; } = agentId;
    public string SessionId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Orders sessions of one agent across connectors: the receive time of the authentication, in Unix ms.</summary>
    public long Epoch { get; } = epoch;
    public IPAddress RemoteAddress { get; } = remoteAddress;
    public DateTimeOffset ConnectedAt { get; } = connectedAt;
    public WebSocket Socket { get; } = socket;

    /// <summary>Cancelled when the connector decides to close this session (replaced, draining).</summary>
    public CancellationToken Closing => _closing.Token;
    public WebSocketCloseStatus CloseStatus { get; private set; } = WebSocketCloseStatus.NormalClosure;
    public string? CloseReason { get; private set; }

    /// <summary>Asks the session's loop to close the socket with this status and reason.</summary>
    public void RequestClose(WebSocketCloseStatus status, string reason)
    {
        if (_closing.IsCancellationRequested) return;
        CloseStatus = status;
        CloseReason = reason;
        _closing.Cancel();
    }

    /// <summary>Sends one text frame; frames from several writers never interleave.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct);
        try
        {
            await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
