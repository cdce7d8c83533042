using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.Protocol;

namespace StreamPipeline.Benchmarks.Commands;

/// <summary>
/// The floor of a command round trip: the smallest server that speaks the agent protocol (Kestrel, TLS, WebSocket),
/// accepting every agent's authentication, sending requests straight down the socket and timing each answer. No
/// Kafka, no dispatcher, no connector: what is left is TLS, WebSocket framing and the simulated agent itself.
/// </summary>
internal sealed class DirectWebSocketFloor : IAsyncDisposable
{
    private static readonly byte[] NullPayload = "null"u8.ToArray();
    private readonly ConcurrentDictionary<string, Connection> _agents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, long> _sentAt = new();
    private WebApplication? _app;

    /// <summary>Called with the round-trip time (ms) of each answered request.</summary>
    public Action<double>? OnAnswered { get; set; }

    public int Port { get; private set; }
    public int Authenticated => _agents.Count;
    public int Outstanding => _sentAt.Count;

    public static async Task<DirectWebSocketFloor> StartAsync(string certificatePath, string keyPath)
    {
        var floor = new DirectWebSocketFloor();
        var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/agent", floor.AcceptAsync);
        await app.StartAsync();
        floor._app = app;
        floor.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return floor;
    }

    /// <summary>Sends <c>get-server-info</c> with request id <paramref name="id"/> to the agent; false when it is not connected.</summary>
    public bool Send(string agentId, long id)
    {
        if (!_agents.TryGetValue(agentId, out var connection)) return false;
        var frame = new ArrayBufferWriter<byte>(128);
        EnvelopeWriter.WriteRequest(frame, id, "get-server-info", NullPayload, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _sentAt[id] = Stopwatch.GetTimestamp();
        _ = connection.SendAsync(frame.WrittenMemory);
        return true;
    }

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new Connection(socket);
        string? agentId = null;
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    r = await socket.ReceiveAsync(buffer.AsMemory(length), context.RequestAborted);
                    length += r.Count;
                }
                while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);

                if (r.MessageType == WebSocketMessageType.Close) break;
                var received = Stopwatch.GetTimestamp();
                using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
                var root = doc.RootElement;
                var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
                var id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt64() : 0;
                if (agentId is null && root.TryGetProperty("action", out var a) && a.GetString() == "authenticate")
                {
                    agentId = root.GetProperty("payload").GetProperty("agent_id").GetString()!;
                    var reply = new ArrayBufferWriter<byte>(256);
                    EnvelopeWriter.WriteAuthenticateOk(reply, id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    await connection.SendAsync(reply.WrittenMemory);
                    _agents[agentId] = connection;
                }
                else if (type == "response" && _sentAt.TryRemove(id, out var sent))
                {
                    OnAnswered?.Invoke(Stopwatch.GetElapsedTime(sent, received).TotalMilliseconds);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            if (agentId is not null) _agents.TryRemove(new KeyValuePair<string, Connection>(agentId, connection));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class Connection(WebSocket socket)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);

        public async Task SendAsync(ReadOnlyMemory<byte> frame)
        {
            await _sending.WaitAsync();
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
            }
            finally
            {
                _sending.Release();
            }
        }
    }
}
