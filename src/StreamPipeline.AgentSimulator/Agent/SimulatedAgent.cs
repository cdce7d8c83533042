using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Host;
using StreamPipeline.AgentSimulator.Metrics;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.AgentSimulator.Protocol;
using StreamPipeline.AgentSimulator.Responses;

namespace StreamPipeline.AgentSimulator.Agent;

/// <summary>
/// One simulated agent: its identity, its simulated host, its response cache and counters, for the whole life of
/// the fleet (across reconnects). Its connections run one at a time in a single async loop.
/// </summary>
public sealed class SimulatedAgent
{
    private readonly FleetContext _fleet;
    private readonly Lock _metricsGate = new();
    private readonly Lock _executeGate = new();
    private readonly SimRandom _random;
    private readonly HostProfile _host;
    private MetricsGenerator? _metrics;
    private RequestDispatcher? _dispatcher;
    private RequestCache? _cache;
    private AgentConnection? _connection;
    private CancellationTokenSource? _backoff;
    private IReadOnlyList<string> _watchlist = [];
    private long _metricsIntervalTicks;
    private long _nextRequestId;
    private int _state;
    private int _stormPending;
    private long _metricsSent;
    private long _requestsReceived;
    private long _connects;
    private long _reconnects;
    private long _authentications;
    private long _authFailures;
    private long _replacedSessions;
    private int _lastCloseStatus = -1;
    private string? _lastCloseReason;
    private string? _lastAuthError;

    internal SimulatedAgent(FleetContext fleet, int index, int number)
    {
        _fleet = fleet;
        var options = fleet.Options;
        Index = index;
        Number = number;
        CacheMode = fleet.Options.MixRequestCacheModes
            ? (RequestCacheMode)((number - 1) % Enum.GetValues<RequestCacheMode>().Length)
            : fleet.Options.RequestCacheMode;
        AgentId = SimulatedFleet.AgentIdFor(options.AgentIdPrefix, number);
        Misbehaviour = MisbehaviourAssignment.For(index, options.Misbehaviour, options.MisbehaviourFraction);
        LocalAddress = fleet.Connector.LocalAddressFor(index);
        _host = HostProfile.Create(number, options.RandomSeed);
        _random = new SimRandom(SimRandom.Mix((ulong)number, (ulong)(uint)options.RandomSeed ^ 0xA5A5A5A5UL));
        _metricsIntervalTicks = options.MetricsInterval.Ticks;
    }

    /// <summary>The agent id, <c>{AgentIdPrefix}{Number:D6}</c>.</summary>
    public string AgentId { get; }

    /// <summary>The agent's number (the <c>n</c> in its id).</summary>
    public int Number { get; }

    /// <summary>How strong this agent's response cache is (<see cref="SimulatorOptions.RequestCacheMode"/>, or its turn with <see cref="SimulatorOptions.MixRequestCacheModes"/>).</summary>
    public RequestCacheMode CacheMode { get; }

    /// <summary>How this agent misbehaves (<see cref="AgentMisbehaviour.None"/> for a well-behaved one).</summary>
    public AgentMisbehaviour Misbehaviour { get; }

    /// <summary>The local source address it connects from, or null when the OS picks.</summary>
    public IPAddress? LocalAddress { get; }

    /// <summary>Where the agent is now.</summary>
    public AgentState State => (AgentState)Volatile.Read(ref _state);

    /// <summary>True while a session of this agent is authenticated.</summary>
    public bool IsAuthenticated => State == AgentState.Authenticated;

    /// <summary>The current metrics period (zero: paused). Starts at <see cref="SimulatorOptions.MetricsInterval"/>; <c>update-agent-config</c> changes it.</summary>
    public TimeSpan MetricsInterval => TimeSpan.FromTicks(Volatile.Read(ref _metricsIntervalTicks));

    /// <summary>The services the server asked the agent to watch (<c>update-agent-config</c>).</summary>
    public IReadOnlyList<string> Watchlist => Volatile.Read(ref _watchlist);

    /// <summary>Metrics frames this agent sent.</summary>
    public long MetricsSent => Interlocked.Read(ref _metricsSent);

    /// <summary>Requests this agent received (executed or answered from its cache).</summary>
    public long RequestsReceived => Interlocked.Read(ref _requestsReceived);

    /// <summary>Requests this agent really executed.</summary>
    public long TotalExecutions => Volatile.Read(ref _cache)?.Executions ?? 0;

    /// <summary>Requests answered from the cache because their id was already processed.</summary>
    public long CachedReplies => Volatile.Read(ref _cache)?.CachedReplies ?? 0;

    /// <summary>WebSockets opened.</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Connection attempts after the first.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Successful authentications.</summary>
    public long Authentications => Interlocked.Read(ref _authentications);

    /// <summary>Refused authentications (error reply or 1008 close before success).</summary>
    public long AuthFailures => Interlocked.Read(ref _authFailures);

    /// <summary>Sessions the server closed as replaced by a newer one.</summary>
    public long ReplacedSessions => Interlocked.Read(ref _replacedSessions);

    /// <summary>The close status of the last connection the server closed, if any.</summary>
    public WebSocketCloseStatus? LastCloseStatus => Volatile.Read(ref _lastCloseStatus) is var status and >= 0 ? (WebSocketCloseStatus)status : null;

    /// <summary>The close reason of the last connection the server closed, if any.</summary>
    public string? LastCloseReason => Volatile.Read(ref _lastCloseReason);

    /// <summary>The message of the last refused authentication, if any.</summary>
    public string? LastAuthenticationError => Volatile.Read(ref _lastAuthError);

    internal int Index { get; }

    internal FleetContext Fleet => _fleet;

    internal SimRandom Random => _random;

    /// <summary>How many times the request with this id really ran on this agent (kept for the last 100,000 ids, whatever the cache remembers).</summary>
    public int ExecutionCount(long requestId) => Volatile.Read(ref _cache)?.ExecutionCount(requestId) ?? 0;

    /// <summary>How many times this agent really ran <paramref name="action"/>.</summary>
    public int ExecutionCount(string action) => Volatile.Read(ref _cache)?.ExecutionCount(action) ?? 0;

    /// <summary>Whether a response for this request id is in the agent's cache.</summary>
    public bool HasCachedResponse(long requestId) => Volatile.Read(ref _cache)?.Contains(requestId) ?? false;

    /// <summary>Drops the current connection as a network failure would; the agent reconnects with its usual backoff.</summary>
    public void DropConnection() => Volatile.Read(ref _connection)?.Abort(AbortReason.Dropped);

    public override string ToString() => $"{AgentId} ({State})";

    internal void SetState(AgentState state) => Volatile.Write(ref _state, (int)state);

    internal long NextRequestId() => Interlocked.Increment(ref _nextRequestId);

    internal string Token()
    {
        var options = _fleet.Options;
        if (Misbehaviour == AgentMisbehaviour.BadToken)
        {
            return SimulatedFleet.TokenFor((options.TokenSeed ?? string.Empty) + ":wrong", AgentId);
        }

        return options.Tokens is { } tokens ? tokens(AgentId) : SimulatedFleet.TokenFor(options.TokenSeed!, AgentId);
    }

    /// <summary>Writes the next metrics frame; returns how many bytes of it to send (fewer for malformed JSON).</summary>
    internal int WriteMetricsFrame(PooledBufferWriter output, DateTimeOffset now)
    {
        lock (_metricsGate)
        {
            _metrics ??= new MetricsGenerator(_host, new SimRandom(SimRandom.Mix((ulong)Number, 0x5EED)), now);
            var padding = Misbehaviour == AgentMisbehaviour.OversizedFrames ? _fleet.Padding : default;
            _metrics.WriteFrame(output, now, Misbehaviour == AgentMisbehaviour.WrongTypes, padding);
        }

        // Cut mid-payload: the frame is no longer JSON.
        return Misbehaviour == AgentMisbehaviour.MalformedJson ? output.WrittenCount / 2 : output.WrittenCount;
    }

    internal void OnMetricsSent(ReadOnlyMemory<byte> frame)
    {
        Interlocked.Increment(ref _metricsSent);
        var counters = _fleet.Counters;
        Interlocked.Increment(ref counters.MetricsSent);
        Interlocked.Add(ref counters.BytesSent, frame.Length);
        if (_fleet.Options.OnMetricsSent is { } callback)
        {
            try
            {
                callback(AgentId, frame.ToArray());
            }
            catch (Exception)
            {
                // An observer's failure must not look like a network failure of the agent.
            }
        }
    }

    /// <summary>
    /// Answers one server request: the cached frame if its id was already processed, otherwise executes it and
    /// writes the response frame into <paramref name="output"/>, caching it when <paramref name="cacheNow"/> (else the
    /// caller caches it with <see cref="CacheResponse"/> once the work is done). Returns the cached frame or null;
    /// <paramref name="requestId"/> is the request's integer id, if it had one.
    /// </summary>
    internal byte[]? HandleRequest(JsonElement root, PooledBufferWriter output, DateTimeOffset now, out long? requestId, bool cacheNow = true)
    {
        Interlocked.Increment(ref _requestsReceived);
        var counters = _fleet.Counters;
        Interlocked.Increment(ref counters.RequestsReceived);
        var cache = Cache;
        var hasId = root.TryGetProperty("id", out var idElement);
        long? id = hasId && idElement.ValueKind == JsonValueKind.Number && idElement.TryGetInt64(out var parsed) && idElement.GetRawText().AsSpan().IndexOfAny('.', 'e', 'E') < 0
            ? parsed
            : null;
        requestId = id;
        if (id is { } knownId && cache.TryGetResponse(knownId, out var cached))
        {
            Interlocked.Increment(ref counters.CachedReplies);
            return cached;
        }

        var action = root.TryGetProperty("action", out var actionElement) && actionElement.ValueKind == JsonValueKind.String
            ? actionElement.GetString()!
            : string.Empty;
        var payload = root.TryGetProperty("payload", out var payloadElement) ? payloadElement : default;
        cache.CountExecution(action, id);
        Interlocked.Increment(ref counters.Executions);

        // Concurrent handlers share one host: its state and random walk are not thread-safe.
        lock (_executeGate)
        {
            var writer = Json.WriterFor(output);
            writer.WriteStartObject();
            writer.WriteString("type"u8, "response"u8);
            writer.WritePropertyName("id"u8);
            if (hasId)
            {
                idElement.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WritePropertyName("action"u8);
            if (actionElement.ValueKind != JsonValueKind.Undefined)
            {
                actionElement.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            if (_fleet.Options.ErrorReplies == ErrorReplyShape.TopLevel)
            {
                WritePayloadOrTopLevelError(writer, action, payload, now);
            }
            else
            {
                writer.WritePropertyName("payload"u8);
                Dispatcher.Execute(action, payload, writer, now);
            }

            writer.WriteNumber("timestamp"u8, now.ToUnixTimeMilliseconds());
            writer.WriteEndObject();
            writer.Flush();
        }

        if (cacheNow && id is { } newId)
        {
            cache.Store(newId, output.ToArray());
        }

        return null;
    }

    /// <summary>Caches the answer of a request whose work is done (<see cref="RequestCacheMode.OnCompletionConcurrent"/>).</summary>
    internal void CacheResponse(long requestId, byte[] frame) => Cache.Store(requestId, frame);

    /// <summary>A new connection: an agent whose cache does not survive a restart starts this one with an empty cache.</summary>
    internal void OnNewConnection()
    {
        if (CacheMode == RequestCacheMode.LostOnReconnect && Interlocked.Read(ref _connects) > 1)
        {
            Volatile.Read(ref _cache)?.Clear();
        }
    }

    /// <summary>An error answer with <c>status</c> and <c>message</c> at the envelope's top level and no payload.</summary>
    private void WritePayloadOrTopLevelError(Utf8JsonWriter writer, string action, JsonElement payload, DateTimeOffset now)
    {
        var scratch = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var inner = new Utf8JsonWriter(scratch))
        {
            Dispatcher.Execute(action, payload, inner, now);
        }

        using var answer = JsonDocument.Parse(scratch.WrittenMemory);
        var root = answer.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("status", out var status) && status.ValueEquals("error"u8))
        {
            writer.WriteString("status"u8, "error"u8);
            writer.WritePropertyName("message"u8);
            if (root.TryGetProperty("message", out var message))
            {
                message.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            return;
        }

        writer.WritePropertyName("payload"u8);
        root.WriteTo(writer);
    }

    internal void OnConnected()
    {
        Interlocked.Increment(ref _connects);
        Interlocked.Exchange(ref _stormPending, 0);
    }

    internal void OnAuthenticated() => Interlocked.Increment(ref _authentications);

    internal void OnAuthenticationRefused(string message)
    {
        Interlocked.Increment(ref _authFailures);
        Volatile.Write(ref _lastAuthError, message);
    }

    internal void OnClosedByServer(WebSocketCloseStatus? status, string? reason)
    {
        Volatile.Write(ref _lastCloseStatus, status is { } s ? (int)s : -1);
        Volatile.Write(ref _lastCloseReason, reason);
    }

    internal void OnReplaced() => Interlocked.Increment(ref _replacedSessions);

    /// <summary>Drops the connection (or cuts the backoff short) so the agent reconnects at once, past the ramp.</summary>
    internal void ForceReconnect()
    {
        Interlocked.Exchange(ref _stormPending, 1);
        if (Volatile.Read(ref _connection) is { } connection)
        {
            connection.Abort(AbortReason.Storm);
        }

        CancelBackoff();
    }

    /// <summary>Closes the current connection with a normal closure (the fleet is stopping).</summary>
    internal Task CloseForStopAsync() => Volatile.Read(ref _connection) is { } connection ? connection.CloseForStopAsync() : Task.CompletedTask;

    internal void CancelBackoff()
    {
        try
        {
            Volatile.Read(ref _backoff)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>The agent's life: connect, run the session, back off, reconnect, until the fleet stops.</summary>
    internal async Task RunAsync()
    {
        var stop = _fleet.StopRequested;
        var failures = 0;
        var skipRamp = false;
        var first = true;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (!skipRamp)
                {
                    await _fleet.Ramp.WaitAsync(stop);
                }

                if (!first)
                {
                    Interlocked.Increment(ref _reconnects);
                    Interlocked.Increment(ref _fleet.Counters.Reconnects);
                }

                first = false;
                var end = await RunConnectionAsync(stop);
                if (end.Kind is SessionEndKind.Stopped or SessionEndKind.Revoked || stop.IsCancellationRequested)
                {
                    break;
                }

                failures = end.WasAuthenticated ? 0 : failures + 1;
                var storm = end.Kind == SessionEndKind.Storm || Volatile.Read(ref _stormPending) == 1;
                var delay = storm ? TimeSpan.Zero : ReconnectBackoff.Next(end, failures, _random, _fleet.Options);
                SetState(AgentState.WaitingToReconnect);
                AgentLog.ReconnectScheduled(_fleet.AgentLogger, AgentId, delay, end.Kind.ToString());
                skipRamp = storm || await BackoffAsync(delay, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            AgentLog.AgentFaulted(_fleet.AgentLogger, AgentId, ex);
        }
        finally
        {
            SetState(AgentState.Stopped);
        }
    }

    /// <summary>Waits out the backoff; true when a storm cut it short.</summary>
    private async Task<bool> BackoffAsync(TimeSpan delay, CancellationToken stop)
    {
        if (delay <= TimeSpan.Zero)
        {
            return false;
        }

        using var backoff = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Volatile.Write(ref _backoff, backoff);
        try
        {
            if (Volatile.Read(ref _stormPending) == 1)
            {
                return true;
            }

            await Task.Delay(delay, _fleet.Clock, backoff.Token);
            return false;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return true;
        }
        finally
        {
            Volatile.Write(ref _backoff, null);
        }
    }

    private async Task<SessionEnd> RunConnectionAsync(CancellationToken stop)
    {
        SetState(AgentState.Connecting);
        var counters = _fleet.Counters;
        Interlocked.Increment(ref counters.ConnectAttempts);
        var socket = _fleet.Connector.Create();
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            connectTimeout.CancelAfter(_fleet.Options.ConnectTimeout);
            await _fleet.Connector.ConnectAsync(socket, Index, connectTimeout.Token);
        }
        catch (Exception ex)
        {
            socket.Dispose();
            if (stop.IsCancellationRequested)
            {
                return new SessionEnd(SessionEndKind.Stopped, false);
            }

            Interlocked.Increment(ref counters.ConnectFailures);
            AgentLog.ConnectFailed(_fleet.AgentLogger, AgentId, _fleet.Options.ServerUrl, ex.GetBaseException().Message);
            return new SessionEnd(SessionEndKind.ConnectFailed, false);
        }

        Interlocked.Increment(ref counters.Connected);
        Interlocked.Increment(ref counters.Connects);
        OnConnected();
        OnNewConnection();
        var connection = new AgentConnection(this, socket);
        Volatile.Write(ref _connection, connection);
        try
        {
            if (stop.IsCancellationRequested)
            {
                return new SessionEnd(SessionEndKind.Stopped, false);
            }

            var end = await connection.RunAsync();
            if (end.Kind is not (SessionEndKind.Stopped or SessionEndKind.Storm))
            {
                Interlocked.Increment(ref counters.ConnectionsLost);
            }

            return end;
        }
        finally
        {
            Volatile.Write(ref _connection, null);
            connection.Dispose();
            Interlocked.Decrement(ref counters.Connected);
        }
    }

    /// <summary>Applies a validated <c>update-agent-config</c>.</summary>
    private void ApplyConfig(AgentConfigUpdate update)
    {
        if (update.Watchlist is { } watchlist)
        {
            Volatile.Write(ref _watchlist, watchlist);
        }

        if (update.MetricsIntervalSeconds is { } seconds)
        {
            Volatile.Write(ref _metricsIntervalTicks, TimeSpan.FromSeconds(seconds).Ticks);
            Volatile.Read(ref _connection)?.RescheduleMetrics();
        }

        AgentLog.ConfigApplied(_fleet.AgentLogger, AgentId, MetricsInterval, Watchlist.Count);
    }

    private RequestCache Cache
    {
        get
        {
            if (Volatile.Read(ref _cache) is { } cache)
            {
                return cache;
            }

            Interlocked.CompareExchange(ref _cache, new RequestCache(_fleet.Options.RequestCacheCapacity, _fleet.Options.RequestCacheMaxBytes), null);
            return _cache;
        }
    }

    private RequestDispatcher Dispatcher =>
        _dispatcher ??= new RequestDispatcher(_host, new SimRandom(SimRandom.Mix((ulong)Number, 0xD15A)), _fleet.Options.ServiceLogLines, ApplyConfig, _fleet.Clock.GetUtcNow(), _fleet.Options.ServiceLogBytes);
}
