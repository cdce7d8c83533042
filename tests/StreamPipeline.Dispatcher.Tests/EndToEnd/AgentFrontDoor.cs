using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace StreamPipeline.Dispatcher.Tests.EndToEnd;

/// <summary>
/// The address agents dial, like a TCP load balancer in front of the edge connectors: each new connection is piped
/// (TLS untouched, end to end) to the connector chosen now. Switching the target moves only new connections, so an
/// agent moves to another connector when its connection drops and it reconnects, as it would in production.
/// </summary>
internal sealed class AgentFrontDoor : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Pipe, byte> _pipes = new();
    private readonly Task _accepting;
    private volatile int _targetPort;

    public AgentFrontDoor()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The port agents connect to.</summary>
    public int Port { get; }

    /// <summary>New connections go to the connector listening on <paramref name="port"/>.</summary>
    public void RouteTo(int port) => _targetPort = port;

    /// <summary>New connections are closed at once (no connector reachable): agents stay offline, retrying.</summary>
    public void Refuse() => _targetPort = 0;

    /// <summary>Open connections piped to <paramref name="port"/>.</summary>
    public int OpenTo(int port) => _pipes.Keys.Count(p => p.BackendPort == port);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PipeAsync(client, _targetPort);
        }
    }

    private async Task PipeAsync(Socket client, int port)
    {
        client.NoDelay = true;
        if (port == 0)
        {
            client.Dispose();
            return;
        }

        var backend = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await backend.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            backend.Dispose();
            client.Dispose();
            return;
        }

        var pipe = new Pipe(client, backend, port);
        _pipes.TryAdd(pipe, 0);
        try
        {
            // Either direction ending ends both: a connector that dies cuts its agents, an agent that drops leaves the connector.
            await Task.WhenAny(CopyAsync(client, backend), CopyAsync(backend, client));
        }
        finally
        {
            _pipes.TryRemove(pipe, out _);
            client.Dispose();
            backend.Dispose();
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) return;
                var sent = 0;
                while (sent < read) sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        foreach (var pipe in _pipes.Keys)
        {
            pipe.Client.Dispose();
            pipe.Backend.Dispose();
        }

        _stop.Dispose();
    }

    private sealed record Pipe(Socket Client, Socket Backend, int BackendPort);
}
