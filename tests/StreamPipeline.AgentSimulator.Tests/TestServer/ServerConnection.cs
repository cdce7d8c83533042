using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace StreamPipeline.AgentSimulator.Tests.TestServer;

/// <summary>A response the test server received: the parsed root and the exact bytes.</summary>
internal sealed record ServerResponse(JsonElement Root, byte[] Raw)
{
    public JsonElement Payload => Root.GetProperty("payload");

    public string Status => Payload.GetProperty("status").GetString()!;
}

/// <summary>One agent socket as the test server sees it.</summary>
internal sealed class ServerConnection(TestAgentServer server, WebSocket socket, IPAddress? remoteAddress)
{
    private const int MaxFrame = 64 * 1024 * 1024;

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Channel<ServerResponse> _responses = Channel.CreateUnbounded<ServerResponse>();
    private readonly ConcurrentQueue<byte[]> _frames = new();
    private readonly ConcurrentQueue<byte[]> _metrics = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _malformed;
    private int _largest;

    public IPAddress? RemoteAddress { get; } = remoteAddress;

    public string? AgentId { get; private set; }

    public string? Token { get; private set; }

    /// <summary>The first frame's parsed root, whatever it was.</summary>
    public JsonElement? FirstFrame { get; private set; }

    public bool Authenticated { get; private set; }

    public bool IsClosed => _closed.Task.IsCompleted;

    public Task Closed => _closed.Task;

    public WebSocketCloseStatus? ClientCloseStatus { get; private set; }

    /// <summary>Every text message received, in order, exactly as sent.</summary>
    public IReadOnlyCollection<byte[]> Frames => _frames;

    /// <summary>Every well-formed metrics event received, exactly as sent.</summary>
    public IReadOnlyCollection<byte[]> MetricsFrames => _metrics;

    public int MalformedFrames => Volatile.Read(ref _malformed);

    public int LargestFrame => Volatile.Read(ref _largest);

    public async Task RunAsync(CancellationToken aborted)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, aborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        ClientCloseStatus = result.CloseStatus;
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                    if (message.Length > MaxFrame)
                    {
                        await CloseAsync(WebSocketCloseStatus.MessageTooBig, "too big");
                        return;
                    }
                }
                while (!result.EndOfMessage);

                await OnFrameAsync(message.ToArray());
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public Task SendAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json));

    public async Task SendAsync(byte[] frame)
    {
        await _sendLock.WaitAsync();
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a request (payload as raw JSON, or null) and waits for the response carrying its id.</summary>
    public async Task<ServerResponse> RequestAsync(long id, string action, string? payloadJson = null, TimeSpan? timeout = null)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await SendAsync($$"""{"type":"request","id":{{id}},"action":"{{action}}","payload":{{payloadJson ?? "null"}},"timestamp":{{timestamp}}}""");
        return await NextResponseAsync(id, timeout);
    }

    /// <summary>Waits for the next response with this id.</summary>
    public async Task<ServerResponse> NextResponseAsync(long id, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            ServerResponse response;
            try
            {
                response = await _responses.Reader.ReadAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No response with id {id} from {AgentId} within {timeout ?? TimeSpan.FromSeconds(10)}.");
            }

            if (response.Root.TryGetProperty("id", out var got) && got.ValueKind == JsonValueKind.Number && got.GetInt64() == id)
            {
                return response;
            }
        }
    }

    /// <summary>True when a response arrives within <paramref name="wait"/> (for asserting that none does).</summary>
    public async Task<bool> AnyResponseWithinAsync(TimeSpan wait)
    {
        using var deadline = new CancellationTokenSource(wait);
        try
        {
            await _responses.Reader.WaitToReadAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        await _sendLock.WaitAsync();
        try
        {
            await socket.CloseOutputAsync(status, reason, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public void Abort()
    {
        if (_closed.TrySetResult())
        {
            try
            {
                socket.Abort();
            }
            catch (ObjectDisposedException)
            {
                // The request already ended.
            }
        }
    }

    private async Task OnFrameAsync(byte[] frame)
    {
        _frames.Enqueue(frame);
        InterlockedMax(ref _largest, frame.Length);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(frame);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            Interlocked.Increment(ref _malformed);
            return;
        }

        FirstFrame ??= root;
        var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
        var action = root.TryGetProperty("action", out var a) ? a.GetString() : null;
        if (!Authenticated)
        {
            if (type == "request" && action == "authenticate")
            {
                if (!server.AnswerAuthentication)
                {
                    return;
                }

                var payload = root.GetProperty("payload");
                AgentId = payload.GetProperty("agent_id").GetString();
                Token = payload.GetProperty("token").GetString();
                var id = root.GetProperty("id").GetInt64();
                var refusal = server.Policy(AgentId!, Token!);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                if (refusal is null)
                {
                    Authenticated = true;
                    server.Register(this);
                    await SendAsync($$"""{"type":"response","id":{{id}},"action":"authenticate","status":"ok","payload":{"status":"ok"},"timestamp":{{now}}}""");
                }
                else
                {
                    var message = JsonSerializer.Serialize(refusal);
                    await SendAsync($$"""{"type":"response","id":{{id}},"action":"authenticate","status":"error","message":{{message}},"payload":{"status":"error","message":{{message}}},"timestamp":{{now}}}""");
                    await CloseAsync(WebSocketCloseStatus.PolicyViolation, "authentication failed");
                }
            }
            else if (server.CloseUnauthenticated)
            {
                await CloseAsync(WebSocketCloseStatus.PolicyViolation, "authenticate first");
            }

            return;
        }

        if (type == "response")
        {
            await _responses.Writer.WriteAsync(new ServerResponse(root, frame));
        }
        else if (type == "event" && action == "metrics")
        {
            _metrics.Enqueue(frame);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
