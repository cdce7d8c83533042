using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.AgentSimulator.Protocol;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.AgentSimulator.Scheduling;

namespace StreamPipeline.AgentSimulator.Agent;

/// <summary>Why the simulator itself ended a connection.</summary>
internal enum AbortReason
{
    None = 0,
    Storm,
    Stop,
    AuthTimeout,
    SendFailed,
    Dropped,
}

/// <summary>
/// One WebSocket session of an agent: authenticate, then a receive loop that answers requests, while the fleet's
/// <see cref="SendScheduler"/> wakes it for metrics (sent from the thread pool, never two sends at once).
/// Buffers are rented per message and returned right after; between messages the connection holds none.
/// </summary>
internal sealed class AgentConnection : IScheduledSend, IThreadPoolWorkItem, IDisposable
{
    private const int FirstReceiveBuffer = 4096;

    private readonly SimulatedAgent _agent;
    private readonly FleetContext _fleet;
    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _authTimer;
    private long _authRequestId;
    private int _abortReason;
    private int _metricsGeneration;
    private int _metricsQueued;
    private bool _authenticated;
    private SessionEndKind? _authEnd;
    private volatile bool _stopping;

    public AgentConnection(SimulatedAgent agent, ClientWebSocket socket)
    {
        _agent = agent;
        _fleet = agent.Fleet;
        _socket = socket;
    }

    private bool IsClosed => _closed.Task.IsCompleted;

    public async Task<SessionEnd> RunAsync()
    {
        switch (_agent.Misbehaviour)
        {
            case AgentMisbehaviour.NeverAuthenticate:
                _agent.SetState(AgentState.ConnectedUnauthenticated);
                return await ReceiveLoopAsync();
            case AgentMisbehaviour.MetricsBeforeAuthentication:
                _agent.SetState(AgentState.ConnectedUnauthenticated);
                StartMetrics();
                return await ReceiveLoopAsync();
        }

        _agent.SetState(AgentState.Authenticating);
        try
        {
            await SendAuthenticateAsync();
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            return EndAfterError(ex);
        }

        _authTimer = _fleet.Clock.CreateTimer(static state => ((AgentConnection)state!).OnAuthTimeout(), this, _fleet.Options.AuthenticationTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            return await ReceiveLoopAsync();
        }
        finally
        {
            if (_authenticated)
            {
                Interlocked.Decrement(ref _fleet.Counters.Authenticated);
            }
        }
    }

    /// <summary>Ends the connection at once (the receive loop then sees the abort).</summary>
    public void Abort(AbortReason reason)
    {
        Interlocked.CompareExchange(ref _abortReason, (int)reason, 0);
        _closed.TrySetResult();
        _socket.Abort();
    }

    /// <summary>A normal closure (1000) for a stopping fleet; the receive loop ends when the server answers it.</summary>
    public async Task CloseForStopAsync()
    {
        _stopping = true;
        if (_socket.State != WebSocketState.Open || _agent.Misbehaviour == AgentMisbehaviour.SlowReader)
        {
            Abort(AbortReason.Stop);
            return;
        }

        try
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(_fleet.Abort);
            budget.CancelAfter(TimeSpan.FromSeconds(2));
            await _sendLock.WaitAsync(budget.Token);
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "agent stopping", budget.Token);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            Abort(AbortReason.Stop);
        }
    }

    /// <summary>The interval changed: forget the pending wake-up and start over with the new period (zero: paused).</summary>
    public void RescheduleMetrics()
    {
        var generation = Interlocked.Increment(ref _metricsGeneration);
        if (!IsClosed && MetricsRunning && _agent.MetricsInterval > TimeSpan.Zero)
        {
            _fleet.Scheduler.Schedule(this, generation, _agent.MetricsInterval);
        }
    }

    void IScheduledSend.OnDue(int generation)
    {
        if (IsClosed || generation != Volatile.Read(ref _metricsGeneration))
        {
            return;
        }

        var interval = _agent.MetricsInterval;
        if (interval > TimeSpan.Zero)
        {
            _fleet.Scheduler.Schedule(this, generation, interval);
        }

        if (Interlocked.Exchange(ref _metricsQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        Volatile.Write(ref _metricsQueued, 0);
        TrySendMetrics();
    }

    public void Dispose()
    {
        _closed.TrySetResult();
        _authTimer?.Dispose();
        _socket.Dispose();
    }

    private bool MetricsRunning { get; set; }

    private static bool IsSocketFailure(Exception ex) =>
        ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException;

    private void StartMetrics()
    {
        MetricsRunning = true;
        if (_agent.Misbehaviour == AgentMisbehaviour.Flood)
        {
            _ = FloodAsync();
            return;
        }

        var interval = _agent.MetricsInterval;
        if (interval > TimeSpan.Zero)
        {
            // A random phase, so that a fleet started (or reconnected) at once does not send in lockstep.
            _fleet.Scheduler.Schedule(this, Volatile.Read(ref _metricsGeneration), interval * _agent.Random.NextDouble());
        }
    }

    private void TrySendMetrics()
    {
        if (IsClosed)
        {
            return;
        }

        if (!_sendLock.Wait(0))
        {
            // The previous frame is still going out (the server stopped reading): skip this tick rather than queue.
            Interlocked.Increment(ref _fleet.Counters.MetricsSkipped);
            return;
        }

        var buffer = new PooledBufferWriter();
        var handedOff = false;
        try
        {
            var length = _agent.WriteMetricsFrame(buffer, _fleet.Clock.GetUtcNow());
            var frame = buffer.WrittenMemory[..length];
            var pending = _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _fleet.Abort);
            if (pending.IsCompletedSuccessfully)
            {
                pending.GetAwaiter().GetResult();
                _agent.OnMetricsSent(frame);
                return;
            }

            handedOff = true;
            _ = CompleteMetricsSendAsync(pending, buffer, length);
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            OnSendFailed(ex);
        }
        finally
        {
            if (!handedOff)
            {
                buffer.Dispose();
                _sendLock.Release();
            }
        }
    }

    private async Task CompleteMetricsSendAsync(ValueTask pending, PooledBufferWriter buffer, int length)
    {
        try
        {
            await pending;
            _agent.OnMetricsSent(buffer.WrittenMemory[..length]);
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            OnSendFailed(ex);
        }
        finally
        {
            buffer.Dispose();
            _sendLock.Release();
        }
    }

    private async Task FloodAsync()
    {
        try
        {
            var sent = 0;
            while (!IsClosed)
            {
                await _sendLock.WaitAsync(_fleet.Abort);
                try
                {
                    using var buffer = new PooledBufferWriter();
                    var length = _agent.WriteMetricsFrame(buffer, _fleet.Clock.GetUtcNow());
                    await _socket.SendAsync(buffer.WrittenMemory[..length], WebSocketMessageType.Text, endOfMessage: true, _fleet.Abort);
                    _agent.OnMetricsSent(buffer.WrittenMemory[..length]);
                }
                finally
                {
                    _sendLock.Release();
                }

                if (++sent % 64 == 0)
                {
                    await Task.Yield();
                }
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            OnSendFailed(ex);
        }
    }

    private void OnSendFailed(Exception ex)
    {
        if (!IsClosed)
        {
            AgentLog.SendFailed(_fleet.AgentLogger, _agent.AgentId, ex.GetBaseException().Message);
            Abort(AbortReason.SendFailed);
        }
    }

    private void OnAuthTimeout()
    {
        if (!Volatile.Read(ref _authenticated) && !IsClosed)
        {
            Interlocked.Increment(ref _fleet.Counters.AuthTimeouts);
            AgentLog.AuthenticationTimedOut(_fleet.AgentLogger, _agent.AgentId, _fleet.Options.AuthenticationTimeout);
            Abort(AbortReason.AuthTimeout);
        }
    }

    private async Task SendAuthenticateAsync()
    {
        _authRequestId = _agent.NextRequestId();
        using var buffer = new PooledBufferWriter(512);
        var writer = Json.WriterFor(buffer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "request"u8);
        writer.WriteNumber("id"u8, _authRequestId);
        writer.WriteString("action"u8, "authenticate"u8);
        writer.WritePropertyName("payload"u8);
        writer.WriteStartObject();
        writer.WriteString("agent_id"u8, _agent.AgentId);
        writer.WriteString("token"u8, _agent.Token());
        writer.WriteEndObject();
        writer.WriteNumber("timestamp"u8, Json.UnixMilliseconds(_fleet.Clock));
        writer.WriteEndObject();
        writer.Flush();
        await SendAsync(buffer.WrittenMemory);
    }

    private async Task SendAsync(ReadOnlyMemory<byte> frame)
    {
        await _sendLock.WaitAsync(_fleet.Abort);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _fleet.Abort);
            Interlocked.Add(ref _fleet.Counters.BytesSent, frame.Length);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task<SessionEnd> ReceiveLoopAsync()
    {
        var maxBytes = _fleet.Options.MaxIncomingMessageBytes;
        while (true)
        {
            byte[] message;
            int length;
            try
            {
                // Wait for data without holding a buffer (a zero-byte read), then rent one for this message only.
                var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, _fleet.Abort);
                if (probe.MessageType == WebSocketMessageType.Close)
                {
                    return await EndAfterCloseAsync();
                }

                (var received, length) = await ReceiveMessageAsync(maxBytes);
                if (received is not null)
                {
                    message = received;
                }
                else
                {
                    if (length < 0)
                    {
                        return await EndAfterCloseAsync();
                    }

                    AgentLog.ServerMessageTooBig(_fleet.AgentLogger, _agent.AgentId, maxBytes);
                    await CloseQuietlyAsync(WebSocketCloseStatus.MessageTooBig, "message too big");
                    return new SessionEnd(SessionEndKind.Lost, _authenticated, WebSocketCloseStatus.MessageTooBig);
                }
            }
            catch (Exception ex) when (IsSocketFailure(ex))
            {
                return EndAfterError(ex);
            }

            var response = new PooledBufferWriter(1024);
            byte[]? cached;
            var justAuthenticated = false;
            try
            {
                cached = Process(message.AsMemory(0, length), response, ref justAuthenticated);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(message);
            }

            try
            {
                if (_authEnd is { } refused)
                {
                    await CloseQuietlyAsync(WebSocketCloseStatus.NormalClosure, "authentication refused");
                    return new SessionEnd(refused, false);
                }

                if (cached is not null)
                {
                    await SendAsync(cached);
                }
                else if (response.WrittenCount > 0)
                {
                    if (_fleet.Options.ResponseDelay > TimeSpan.Zero)
                    {
                        await Task.Delay(_fleet.Options.ResponseDelay, _fleet.Clock, _fleet.Abort);
                    }

                    await SendAsync(response.WrittenMemory);
                }
            }
            catch (Exception ex) when (IsSocketFailure(ex))
            {
                return EndAfterError(ex);
            }
            finally
            {
                response.Dispose();
            }

            if (justAuthenticated && _agent.Misbehaviour == AgentMisbehaviour.SlowReader)
            {
                // Never read again: requests pile up in the socket; metrics keep going until a send fails.
                await _closed.Task;
                return EndAfterError(null);
            }
        }
    }

    /// <summary>Reads one whole message into a rented buffer; (null, -1) on close, (null, 0) when it exceeds the limit.</summary>
    private async Task<(byte[]? Buffer, int Length)> ReceiveMessageAsync(int maxBytes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(FirstReceiveBuffer, maxBytes));
        var count = 0;
        try
        {
            while (true)
            {
                var limit = Math.Min(buffer.Length, maxBytes);
                if (count == limit)
                {
                    if (limit >= maxBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (null, 0);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes));
                    buffer.AsSpan(0, count).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                    limit = Math.Min(buffer.Length, maxBytes);
                }

                var result = await _socket.ReceiveAsync(buffer.AsMemory(count, limit - count), _fleet.Abort);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, -1);
                }

                count += result.Count;
                if (result.EndOfMessage)
                {
                    return (buffer, count);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Handles one server message; writes a response into <paramref name="response"/> or returns a cached one.</summary>
    private byte[]? Process(ReadOnlyMemory<byte> message, PooledBufferWriter response, ref bool justAuthenticated)
    {
        if (message.IsEmpty)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException ex)
        {
            AgentLog.MalformedServerMessage(_fleet.AgentLogger, _agent.AgentId, ex.Message);
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                AgentLog.MalformedServerMessage(_fleet.AgentLogger, _agent.AgentId, $"a JSON {root.ValueKind}");
                return null;
            }

            var type = root.TryGetProperty("type", out var typeElement) && typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
            if (!_authenticated)
            {
                if (_agent.Misbehaviour is not (AgentMisbehaviour.NeverAuthenticate or AgentMisbehaviour.MetricsBeforeAuthentication)
                    && type == "response" && IsAuthenticateReply(root))
                {
                    justAuthenticated = OnAuthenticateReply(root);
                }

                // Nothing but the authentication reply counts before the session is authenticated.
                return null;
            }

            if (type != "request")
            {
                return null;
            }

            if (_agent.CacheMode == RequestCacheMode.OnCompletionConcurrent)
            {
                // Handled on its own while the loop reads on; the answer is cached only when its work is done.
                _ = HandleConcurrentlyAsync(message.ToArray());
                return null;
            }

            return _agent.HandleRequest(root, response, _fleet.Clock.GetUtcNow(), out _);
        }
    }

    private async Task HandleConcurrentlyAsync(byte[] message)
    {
        var response = new PooledBufferWriter(1024);
        try
        {
            byte[]? cached;
            long? id;
            using (var document = JsonDocument.Parse(message))
            {
                cached = _agent.HandleRequest(document.RootElement, response, _fleet.Clock.GetUtcNow(), out id, cacheNow: false);
            }

            if (cached is not null)
            {
                await SendAsync(cached);
                return;
            }

            if (_fleet.Options.ResponseDelay > TimeSpan.Zero)
            {
                await Task.Delay(_fleet.Options.ResponseDelay, _fleet.Clock, _fleet.Abort);
            }

            if (id is { } requestId)
            {
                _agent.CacheResponse(requestId, response.ToArray());
            }

            await SendAsync(response.WrittenMemory);
        }
        catch (Exception ex) when (IsSocketFailure(ex) || ex is JsonException)
        {
            // The connection is ending (the receive loop sees it) or the message was not JSON after all.
        }
        finally
        {
            response.Dispose();
        }
    }

    private bool IsAuthenticateReply(JsonElement root)
    {
        if (root.TryGetProperty("action", out var action) && action.ValueKind == JsonValueKind.String)
        {
            return action.ValueEquals("authenticate"u8);
        }

        // No action: take it as the reply when it carries our request's id.
        return root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var value) && value == _authRequestId;
    }

    private bool OnAuthenticateReply(JsonElement root)
    {
        var payload = root.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var status = StringProperty(root, "status") ?? (payload.ValueKind == JsonValueKind.Object ? StringProperty(payload, "status") : null);
        _authTimer?.Dispose();
        if (string.Equals(status, "ok", StringComparison.OrdinalIgnoreCase))
        {
            Volatile.Write(ref _authenticated, true);
            Interlocked.Increment(ref _fleet.Counters.Authenticated);
            Interlocked.Increment(ref _fleet.Counters.Authentications);
            _agent.OnAuthenticated();
            _agent.SetState(AgentState.Authenticated);
            AgentLog.Authenticated(_fleet.AgentLogger, _agent.AgentId);
            StartMetrics();
            return true;
        }

        var message = StringProperty(root, "message")
            ?? (payload.ValueKind == JsonValueKind.Object ? StringProperty(payload, "message") : null)
            ?? $"authentication refused (status {status ?? "missing"})";
        Interlocked.Increment(ref _fleet.Counters.AuthFailures);
        _agent.OnAuthenticationRefused(message);
        if (_fleet.Options.StopOnRevokedToken && message.Contains("revoked", StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref _fleet.Counters.RevokedAgents);
            AgentLog.TokenRevoked(_fleet.AgentLogger, _agent.AgentId, message);
            _authEnd = SessionEndKind.Revoked;
        }
        else
        {
            AgentLog.AuthenticationFailed(_fleet.AgentLogger, _agent.AgentId, message);
            _authEnd = SessionEndKind.AuthFailed;
        }

        return false;
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private async Task<SessionEnd> EndAfterCloseAsync()
    {
        var status = _socket.CloseStatus;
        var reason = _socket.CloseStatusDescription;
        _closed.TrySetResult();
        if (_socket.State == WebSocketState.CloseReceived)
        {
            await CloseQuietlyAsync(status ?? WebSocketCloseStatus.NormalClosure, null);
        }

        if (_stopping || _fleet.StopRequested.IsCancellationRequested)
        {
            return new SessionEnd(SessionEndKind.Stopped, _authenticated, status, reason);
        }

        _agent.OnClosedByServer(status, reason);
        AgentLog.ConnectionClosed(_fleet.AgentLogger, _agent.AgentId, status, reason);
        if (reason is not null && reason.Contains("replaced", StringComparison.OrdinalIgnoreCase))
        {
            _agent.OnReplaced();
            Interlocked.Increment(ref _fleet.Counters.ReplacedSessions);
            AgentLog.SessionReplaced(_fleet.AgentLogger, _agent.AgentId, reason);
        }

        if (status == WebSocketCloseStatus.PolicyViolation)
        {
            if (!_authenticated && _agent.Misbehaviour is not (AgentMisbehaviour.NeverAuthenticate or AgentMisbehaviour.MetricsBeforeAuthentication))
            {
                Interlocked.Increment(ref _fleet.Counters.AuthFailures);
                _agent.OnAuthenticationRefused(reason ?? "closed with 1008 policy violation");
            }

            return new SessionEnd(SessionEndKind.PolicyViolation, _authenticated, status, reason);
        }

        return new SessionEnd(status == WebSocketCloseStatus.EndpointUnavailable ? SessionEndKind.GoingAway : SessionEndKind.Closed, _authenticated, status, reason);
    }

    private SessionEnd EndAfterError(Exception? error)
    {
        _closed.TrySetResult();
        var reason = (AbortReason)Volatile.Read(ref _abortReason);
        if (_stopping || reason == AbortReason.Stop || _fleet.StopRequested.IsCancellationRequested)
        {
            return new SessionEnd(SessionEndKind.Stopped, _authenticated);
        }

        switch (reason)
        {
            case AbortReason.Storm:
                return new SessionEnd(SessionEndKind.Storm, _authenticated);
            case AbortReason.AuthTimeout:
                return new SessionEnd(SessionEndKind.AuthTimeout, false);
        }

        AgentLog.ConnectionLost(_fleet.AgentLogger, _agent.AgentId, error?.GetBaseException().Message ?? reason.ToString());
        return new SessionEnd(SessionEndKind.Lost, _authenticated);
    }

    private async Task CloseQuietlyAsync(WebSocketCloseStatus status, string? description)
    {
        _closed.TrySetResult();
        try
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(_fleet.Abort);
            budget.CancelAfter(TimeSpan.FromSeconds(2));
            await _sendLock.WaitAsync(budget.Token);
            try
            {
                await _socket.CloseOutputAsync(status, description, budget.Token);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            _socket.Abort();
        }
    }
}
