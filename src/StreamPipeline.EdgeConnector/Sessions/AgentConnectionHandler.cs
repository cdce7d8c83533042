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
    ICredentialStore tokens,
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
        // Before authentication only a small frame is read: an unauthenticated peer must not make us buffer 1 MiB.
        using var reader = new FrameReader(socket, _options.MaxUnauthenticatedFrameBytes);
        AgentSession? session = null;
        try
        {
            session = await AuthenticateAsync(socket, reader, remote, stopping);
            if (session is null) return;
            reader.MaxFrameBytes = _options.MaxFrameBytes;
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
            if (session is not null) await EndSessionAsync(session);
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
            metrics.Auth("too_large");
            LogAuthFailed(logger, remote, "", $"first frame larger than EdgeConnector:MaxUnauthenticatedFrameBytes ({_options.MaxUnauthenticatedFrameBytes} bytes)");
            await CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, $"first frame larger than {_options.MaxUnauthenticatedFrameBytes} bytes; send authenticate first");
            return null;
        }

        metrics.FramesIn.Add(1);
        var now = time.GetUtcNow();
        long requestId = 0, generation = 0;
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
            else if (throttle.IsBlocked(remote, ThrottleKey(agentId)))
            {
                (result, failure) = ("throttled", "too many failed authentications for this agent from this address; retry in a minute");
            }
            else
            {
                (result, failure) = tokens.Check(agentId, token, out generation) switch
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
            if (result is not "throttled") throttle.RecordFailure(remote, ThrottleKey(agentId));
            // The agent id and the parse error come from an unauthenticated peer: escaped, so they cannot forge log lines.
            LogAuthFailed(logger, remote, LogText.Escape(agentId), LogText.Escape(failure));
            EnvelopeWriter.WriteAuthenticateError(reply, requestId, failure, now.ToUnixTimeMilliseconds());
            await socket.SendAsync(reply.WrittenMemory, WebSocketMessageType.Text, true, stopping);
            metrics.FramesOut.Add(1);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "authentication failed");
            return null;
        }

        // Epochs order one agent's sessions: strictly increasing on this connector even within one millisecond.
        var epoch = now.ToUnixTimeMilliseconds();
        if (sessions.TryGet(agentId, out var current) && current is not null && current.Epoch >= epoch) epoch = current.Epoch + 1;
        var session = new AgentSession(agentId, socket, remote, epoch, now, generation);
        EnvelopeWriter.WriteAuthenticateOk(reply, requestId, now.ToUnixTimeMilliseconds());
        await session.SendAsync(reply.WrittenMemory, stopping);
        metrics.FramesOut.Add(1);

        // Escaped once: an id from the store could still hold control characters (the store splits on whitespace only).
        var safeId = LogText.Escape(agentId);
        var replaced = sessions.Register(session);
        metrics.Sessions.Add(1);
        if (replaced is not null)
        {
            metrics.SessionsReplaced.Add(1);
            LogSessionReplaced(logger, safeId, replaced.SessionId, session.SessionId);
            replaced.RequestClose(WebSocketCloseStatus.NormalClosure, "replaced by a newer session of the same agent");
            // Its unanswered requests are reported now, not when its close handshake ends (answers during it are not read).
            relay.OnSessionEnded(replaced);
        }

        // Under the same in-flight bound as metrics: during a Kafka outage this waits, and nothing is dropped.
        await publisher.PublishPresenceAsync(Presence(session, PresenceStatus.Connected, "authenticated"), CancellationToken.None);
        LogConnected(logger, safeId, session.SessionId, remote);
        return session;
    }

    /// <summary>
    /// Failures are throttled per (address, agent id) for agents the store knows, so a broken or revoked agent behind a
    /// NAT does not lock out its neighbours; unknown or missing agent ids share one key per address, so inventing ids
    /// does not escape the throttle.
    /// </summary>
    private string ThrottleKey(string agentId) => agentId.Length > 0 && tokens.Knows(agentId) ? agentId : "";

    private async Task RunSessionAsync(AgentSession session, FrameReader reader, CancellationToken stopping)
    {
        var ct = stopping;
        var rate = new TokenBucket(_options.AgentMessagesPerSecond, _options.AgentMessagesPerSecond * 4, time);
        var strikes = new StrikeCounter(_options.MaxInvalidFramesPerMinute, time);
        var logs = new LogBudget(_options.FrameLogsPerSessionPerMinute, time);

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
                await InvalidAsync(session, logs, "too_large", $"frame larger than EdgeConnector:MaxFrameBytes ({_options.MaxFrameBytes} bytes)", ReadOnlyMemory<byte>.Empty, ct);
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
                    await InvalidAsync(session, logs, Reason(error), error.Message, reader.FrameMemory, ct);
                    if (strikes.Strike()) { session.RequestClose(WebSocketCloseStatus.PolicyViolation, "too many invalid frames"); break; }
                    continue;
                }

                // Answers to our own requests are never rate limited: the backend decides how many it asks for (and an
                // answer to nothing we asked is a strike below).
                if (envelope.Type != EnvelopeType.Response && !rate.TryTake(time))
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

                string reason, message;
                var keep = reader.FrameMemory;
                if (envelope.Type == EnvelopeType.Response)
                {
                    var id = envelope.Id ?? 0;
                    if (relay.OnAgentResponse(session, id, envelope.Payload, reader.Frame)) continue;
                    // Regression (issue 9): answers to ids we never sent were dropped without a strike, one warning each.
                    (reason, message) = ("unknown_response_id", $"response to request id {id}, which this connector did not send or no longer waits for");
                }
                else if (envelope.Type == EnvelopeType.Request && envelope.ActionIs(AuthenticateAction))
                {
                    // Regression (issue 9): a second authenticate was dead-lettered raw, token included.
                    (reason, message) = ("repeated_authenticate", "already authenticated: authenticate is accepted only as the first frame");
                    keep = ReadOnlyMemory<byte>.Empty;
                }
                else
                {
                    var what = envelope.HasAction ? envelope.GetAction() : "(none)";
                    (reason, message) = ("unknown_action", $"unexpected {envelope.Type.ToString().ToLowerInvariant()} with action '{what}': agents send 'metrics' events and responses");
                }

                await InvalidAsync(session, logs, reason, message, keep, ct);
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

    /// <summary>Counts a refused frame, logs it within the session's log budget, and dead-letters it (a credential never).</summary>
    private async ValueTask InvalidAsync(AgentSession session, LogBudget logs, string reason, string message, ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        metrics.InvalidFrame(reason);
        if (logs.TryTake(out var suppressed)) LogInvalidFrame(logger, LogText.Escape(session.AgentId), reason, LogText.Escape(message), suppressed);
        else metrics.FrameLogsSuppressed.Add(1);
        if (frame.IsEmpty && reason is not "repeated_authenticate") return;
        var redact = frame.IsEmpty || MayCarryCredential(frame.Span);
        await publisher.PublishDeadLetterAsync(session.AgentId, frame, reason, message, session.SessionId, redact, ct);
    }

    /// <summary>A frame that mentions authenticate or a token is not kept raw: it may be an agent retrying its login.</summary>
    internal static bool MayCarryCredential(ReadOnlySpan<byte> frame) =>
        frame.IndexOf("authenticate"u8) >= 0 || frame.IndexOf("token"u8) >= 0;

    private async Task EndSessionAsync(AgentSession session)
    {
        if (sessions.Remove(session) || session.CloseReason is not null) metrics.Sessions.Add(-1);
        relay.OnSessionEnded(session);
        var reason = session.CloseReason ?? "connection ended";
        await publisher.PublishPresenceAsync(Presence(session, PresenceStatus.Disconnected, reason), CancellationToken.None);
        var safeId = LogText.Escape(session.AgentId);
        var safeReason = LogText.Escape(reason);
        LogDisconnected(logger, safeId, session.SessionId, safeReason);
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
        ProtocolErrorReason.DuplicateField => "duplicate_field",
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

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Invalid frame from agent {AgentId} ({Reason}): {Message} ({Suppressed} more from this session not logged since the last line)")]
    private static partial void LogInvalidFrame(ILogger logger, string agentId, string reason, string message, int suppressed);
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
