using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.Protocol;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// One agent socket from open to close: authentication first (agent-protocol.md sections 1 and 6), then a
/// read loop that validates each frame and publishes metrics. Errors inside the loop are values: counted,
/// logged, dead-lettered; the socket closes only for a protocol violation or an agent that keeps misbehaving.
/// </summary>
internal sealed partial class AgentConnectionHandler(
    IOptions<EdgeConnectorOptions> options,
    TokenStore tokens,
    AuthThrottle throttle,
    SessionRegistry sessions,
    KafkaPublisher publisher,
    Commands.CommandRelay relay,
    ConnectorMetrics metrics,
    TimeProvider time,
    ILogger<AgentConnectionHandler> logger)
{
    private static readonly byte[] AuthenticateAction = "authenticate"u8.ToArray();
    private readonly EdgeConnectorOptions _options = options.Value;

    public async Task HandleAsync(WebSocket socket, IPAddress remote, CancellationToken stopping)
    {
        metrics.Connections.Add(1);
        using var reader = new FrameReader(socket, _options.MaxFrameBytes);
        AgentSession? session = null;
        try
        {
            session = await AuthenticateAsync(socket, reader, remote, stopping);
            if (session is null) return;
            await RunSessionAsync(session, reader, stopping);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer vanished or we are stopping: the finally block below records it.
            if (session is not null && session.CloseReason is null) session.RequestClose(WebSocketCloseStatus.EndpointUnavailable, "connection lost: " + e.Message);
        }
        finally
        {
            metrics.Connections.Add(-1);
            if (session is not null) EndSession(session);
        }
    }

    private async Task<AgentSession?> AuthenticateAsync(WebSocket socket, FrameReader reader, IPAddress remote, CancellationToken stopping)
    {
        // The read is not cancelled on timeout (that would abort the socket without a close frame): it is raced.
        var read = reader.ReadAsync(stopping).AsTask();
        if (await Task.WhenAny(read, Task.Delay(_options.AuthenticationTimeout, time, stopping)) != read)
        {
            metrics.Auth("timeout");
            LogAuthTimeout(logger, remote, _options.AuthenticationTimeout);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "authentication timeout: send authenticate first");
            await DrainAsync(reader, read);
            return null;
        }

        var status = await read;
        if (status == FrameStatus.Closed) { metrics.Auth("closed"); return null; }
        if (status == FrameStatus.TooLarge)
        {
            metrics.Auth("malformed");
            await CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, $"frame larger than {_options.MaxFrameBytes} bytes");
            return null;
        }

        metrics.FramesIn.Add(1);
        var now = time.GetUtcNow();
        long requestId = 0;
        string agentId = "", failure, result;
        if (!EnvelopeParser.TryParse(reader.Frame, out var envelope, out var error))
        {
            (result, failure) = ("malformed", "first frame is not a valid envelope: " + error.Message);
        }
        else
        {
            requestId = envelope.Id ?? 0;
            if (envelope.Type != EnvelopeType.Request || !envelope.ActionIs(AuthenticateAction))
            {
                (result, failure) = ("not_authenticate", "the first frame must be {\"type\":\"request\",\"action\":\"authenticate\",...}; nothing else is accepted before authentication");
            }
            else if (!AuthenticateRequest.TryParse(envelope.Payload, out agentId, out var token, out var payloadError))
            {
                (result, failure) = ("malformed", payloadError);
            }
            else if (throttle.IsBlocked(remote))
            {
                (result, failure) = ("throttled", "too many failed authentications from this address; retry in a minute");
            }
            else
            {
                (result, failure) = tokens.Check(agentId, token) switch
                {
                    TokenCheck.Valid => ("ok", ""),
                    TokenCheck.Revoked => ("revoked", "token revoked for this agent"),
                    TokenCheck.UnknownAgent => ("unknown_agent", "invalid agent id or token"),
                    _ => ("bad_token", "invalid agent id or token"),
                };
            }
        }

        metrics.Auth(result);
        var reply = new ArrayBufferWriter<byte>(256);
        if (result != "ok")
        {
            if (result is not "throttled") throttle.RecordFailure(remote);
            LogAuthFailed(logger, remote, agentId, failure);
            EnvelopeWriter.WriteAuthenticateError(reply, requestId, failure, now.ToUnixTimeMilliseconds());
            await socket.SendAsync(reply.WrittenMemory, WebSocketMessageType.Text, true, stopping);
            metrics.FramesOut.Add(1);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "authentication failed");
            return null;
        }

        // Epochs order one agent's sessions: strictly increasing on this connector even within one millisecond.
        var epoch = now.ToUnixTimeMilliseconds();
        if (sessions.TryGet(agentId, out var current) && current is not null && current.Epoch >= epoch) epoch = current.Epoch + 1;
        var session = new AgentSession(agentId, socket, remote, epoch, now);
        EnvelopeWriter.WriteAuthenticateOk(reply, requestId, now.ToUnixTimeMilliseconds());
        await session.SendAsync(reply.WrittenMemory, stopping);
        metrics.FramesOut.Add(1);

        var replaced = sessions.Register(session);
        metrics.Sessions.Add(1);
        if (replaced is not null)
        {
            metrics.SessionsReplaced.Add(1);
            LogSessionReplaced(logger, agentId, replaced.SessionId, session.SessionId);
            replaced.RequestClose(WebSocketCloseStatus.NormalClosure, "replaced by a newer session of the same agent");
            // Its unanswered requests are reported now, not when its close handshake ends (answers during it are not read).
            relay.OnSessionEnded(replaced);
        }

        publisher.PublishPresence(Presence(session, PresenceStatus.Connected, "authenticated"));
        LogConnected(logger, agentId, session.SessionId, remote);
        return session;
    }

    private async Task RunSessionAsync(AgentSession session, FrameReader reader, CancellationToken stopping)
    {
        var ct = stopping;
        var rate = new TokenBucket(_options.AgentMessagesPerSecond, _options.AgentMessagesPerSecond * 4, Stopwatch.GetTimestamp());
        var strikes = new StrikeCounter(_options.MaxInvalidFramesPerMinute, time);

        while (!ct.IsCancellationRequested)
        {
            var status = await reader.ReadAsync(ct);
            if (status == FrameStatus.Closed)
            {
                // Either the agent closed, or it answered the close this connector sent.
                if (session.CloseReason is null) session.RequestClose(WebSocketCloseStatus.NormalClosure, "agent closed the connection");
                return;
            }

            if (session.Closing.IsCancellationRequested) continue; // closing: read on until the agent's close reply

            metrics.FramesIn.Add(1);
            if (status == FrameStatus.TooLarge)
            {
                Invalid(session, "too_large", $"frame larger than EdgeConnector:MaxFrameBytes ({_options.MaxFrameBytes} bytes)", ReadOnlySpan<byte>.Empty);
                session.RequestClose(WebSocketCloseStatus.MessageTooBig, $"frame larger than {_options.MaxFrameBytes} bytes");
                break;
            }

            var received = time.GetUtcNow().ToUnixTimeMilliseconds();
            var receivedTimestamp = Stopwatch.GetTimestamp();
            // Parser, sample and encode buffer are borrowed per frame: an agent between two samples holds none of them.
            var work = FrameWork.Rent();
            try
            {
                var sample = work.Sample;
                sample.ClearMeasurements();
                // One pass: the envelope, and a metrics payload straight into the reused sample.
                if (!work.Parser.TryParseFrame(reader.Frame, sample, out var envelope, out var isMetrics, out var error))
                {
                    Invalid(session, Reason(error), error.Message, reader.Frame);
                    if (strikes.Strike()) { session.RequestClose(WebSocketCloseStatus.PolicyViolation, "too many invalid frames"); break; }
                    continue;
                }

                // Answers to our own requests are never rate limited: the backend decides how many it asks for.
                if (envelope.Type != EnvelopeType.Response && !rate.TryTake(Stopwatch.GetTimestamp(), Stopwatch.Frequency))
                {
                    metrics.InvalidFrame("rate_limited");
                    if (strikes.Strike()) { session.RequestClose(WebSocketCloseStatus.PolicyViolation, "too many messages: at most " + _options.AgentMessagesPerSecond + "/s"); break; }
                    continue;
                }

                if (isMetrics)
                {
                    sample.AgentId = session.AgentId;
                    sample.ConnectorId = _options.ConnectorId;
                    sample.SessionId = session.SessionId;
                    sample.AgentTimeMs = envelope.Timestamp ?? received;
                    sample.ReceivedTimeMs = received;
                    await publisher.PublishMetricsAsync(sample, work.Scratch, receivedTimestamp, ct);
                    continue;
                }

                if (envelope.Type == EnvelopeType.Response)
                {
                    relay.OnAgentResponse(session, envelope.Id ?? 0, envelope.Payload, reader.Frame);
                    continue;
                }

                var what = envelope.HasAction ? envelope.GetAction() : "(none)";
                Invalid(session, "unknown_action", $"unexpected {envelope.Type.ToString().ToLowerInvariant()} with action '{what}': agents send 'metrics' events and responses", reader.Frame);
                if (strikes.Strike()) { session.RequestClose(WebSocketCloseStatus.PolicyViolation, "too many invalid frames"); break; }
            }
            finally
            {
                FrameWork.Return(work);
            }
        }

        await DrainAsync(reader, null);
    }

    /// <summary>After the close frame went out, reads until the agent's close reply; after a few seconds the socket is cut.</summary>
    private static async Task DrainAsync(FrameReader reader, Task<FrameStatus>? pending)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        try
        {
            if (pending is not null && await pending.WaitAsync(grace.Token) == FrameStatus.Closed) return;
            while (await reader.ReadAsync(grace.Token) != FrameStatus.Closed) { }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or TimeoutException or ObjectDisposedException)
        {
        }
    }

    private void Invalid(AgentSession session, string reason, string message, ReadOnlySpan<byte> frame)
    {
        metrics.InvalidFrame(reason);
        LogInvalidFrame(logger, session.AgentId, reason, message);
        if (!frame.IsEmpty) publisher.PublishDeadLetter(session.AgentId, frame, reason, message, session.SessionId);
    }

    private void EndSession(AgentSession session)
    {
        if (sessions.Remove(session) || session.CloseReason is not null) metrics.Sessions.Add(-1);
        relay.OnSessionEnded(session);
        var reason = session.CloseReason ?? "connection ended";
        publisher.PublishPresence(Presence(session, PresenceStatus.Disconnected, reason));
        LogDisconnected(logger, session.AgentId, session.SessionId, reason);
    }

    private AgentPresence Presence(AgentSession session, PresenceStatus status, string reason) =>
        session.Presence(_options.ConnectorId, status, reason, status == PresenceStatus.Connected ? session.ConnectedAt : time.GetUtcNow());

    private static string Reason(ProtocolError error) => error.Reason switch
    {
        ProtocolErrorReason.MalformedJson => "malformed_json",
        ProtocolErrorReason.MissingField => "missing_field",
        ProtocolErrorReason.WrongType => "wrong_type",
        ProtocolErrorReason.NotFinite => "not_finite",
        ProtocolErrorReason.OutOfRange => "out_of_range",
        ProtocolErrorReason.TooManyItems => "too_many_items",
        ProtocolErrorReason.StringTooLong => "string_too_long",
        ProtocolErrorReason.UnknownAction => "unknown_action",
        _ => "invalid_value",
    };

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.CloseOutputAsync(status, reason.Length > 120 ? reason[..120] : reason, cts.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            socket.Abort();
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Authentication failed from {Remote} (agent '{AgentId}'): {Reason}")]
    private static partial void LogAuthFailed(ILogger logger, IPAddress remote, string agentId, string reason);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Authentication failed from {Remote}: no authenticate frame within {Timeout}")]
    private static partial void LogAuthTimeout(ILogger logger, IPAddress remote, TimeSpan timeout);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Agent {AgentId} connected, session {SessionId}, from {Remote}")]
    private static partial void LogConnected(ILogger logger, string agentId, string sessionId, IPAddress remote);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "Agent {AgentId} session {SessionId} ended: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string agentId, string sessionId, string reason);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "Agent {AgentId}: session {OldSession} replaced by {NewSession}")]
    private static partial void LogSessionReplaced(ILogger logger, string agentId, string oldSession, string newSession);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Invalid frame from agent {AgentId} ({Reason}): {Message}")]
    private static partial void LogInvalidFrame(ILogger logger, string agentId, string reason, string message);
}

/// <summary>What one frame needs to be parsed and encoded; pooled so idle sessions hold none.</summary>
internal sealed class FrameWork
{
    private static readonly System.Collections.Concurrent.ConcurrentBag<FrameWork> Pool = [];

    public MetricsParser Parser { get; } = new();
    public MetricsSample Sample { get; } = new();
    public ArrayBufferWriter<byte> Scratch { get; } = new(1024);

    public static FrameWork Rent() => Pool.TryTake(out var w) ? w : new FrameWork();

    public static void Return(FrameWork work) => Pool.Add(work);
}

/// <summary>Counts misbehaviour in one-minute windows; true once the limit is passed.</summary>
internal sealed class StrikeCounter(int perMinute, TimeProvider time)
{
    private DateTimeOffset _windowStart = time.GetUtcNow();
    private int _count;

    public bool Strike()
    {
        var now = time.GetUtcNow();
        if (now - _windowStart >= TimeSpan.FromMinutes(1)) { _windowStart = now; _count = 0; }
        return ++_count > perMinute;
    }
}
