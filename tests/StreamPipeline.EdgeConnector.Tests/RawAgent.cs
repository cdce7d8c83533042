using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using StreamPipeline.Testing.EdgeConnector;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>A bare WebSocket client for frame-exact tests: sends what it is told, reports what comes back.</summary>
internal sealed class RawAgent : IDisposable
{
    private readonly ClientWebSocket _socket = new();

    public WebSocket Socket => _socket;

    public static async Task<RawAgent> ConnectAsync(ConnectorHost connector)
    {
        var trusted = X509CertificateLoader.LoadCertificateFromFile(connector.CertificatePath).GetCertHashString();
        var agent = new RawAgent();
        agent._socket.Options.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == trusted;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await agent._socket.ConnectAsync(connector.AgentUrl, cts.Token);
        return agent;
    }

    public static string AuthFrame(string agentId, string token, long id = 1) =>
        $$"""{"type":"request","id":{{id}},"action":"authenticate","payload":{"agent_id":"{{agentId}}","token":"{{token}}"},"timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}""";

    public static string MetricsFrame(double cpu = 12.5, long? timestamp = null) =>
        $$$"""{"type":"event","action":"metrics","timestamp":{{{timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}},"payload":{"cpuUsagePercent":{{{cpu.ToString(System.Globalization.CultureInfo.InvariantCulture)}}},"ramUsagePercent":45.2,"ramUsedGB":4.1,"uptimeSeconds":3600,"normalizedLoad":{"1m":0.5,"5m":0.4,"15m":0.2},"diskReadSpeedMBps":1.2,"diskWriteSpeedMBps":0.5,"diskUsage":[{"device":"/dev/sda1","mountpoint":"/","fstype":"ext4","totalGB":450.5,"usedGB":20.1,"usagePercent":4.5}],"networkInterfaces":[{"name":"eth0","mac":"00:11:22:33:44:55","ipv4":"192.168.1.10","ipv6":"fe80::1","uploadSpeedMbps":5.2,"downloadSpeedMbps":12.4}]}}""";

    public Task SendAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBytesAsync(byte[] bytes) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next text frame, or null when the server closed the socket (see <see cref="CloseStatus"/>).</summary>
    public async Task<string?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var buffer = new byte[1 << 20];
        var count = 0;
        while (true)
        {
            var r = await _socket.ReceiveAsync(buffer.AsMemory(count), cts.Token);
            if (r.MessageType == WebSocketMessageType.Close) return null;
            count += r.Count;
            if (r.EndOfMessage) return Encoding.UTF8.GetString(buffer, 0, count);
        }
    }

    /// <summary>Reads until the server closes the socket; returns its close status and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason)> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await ReceiveAsync(deadline - DateTime.UtcNow) is null) break;
            }
            catch (WebSocketException)
            {
                break;
            }
        }

        return (_socket.CloseStatus, _socket.CloseStatusDescription);
    }

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public void Dispose() => _socket.Dispose();
}
