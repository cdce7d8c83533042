using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.TestServer;

/// <summary>How the test server answers an authenticate request: null accepts, a message refuses.</summary>
internal delegate string? AuthenticatePolicy(string agentId, string token);

/// <summary>
/// A small wss:// server in Kestrel that plays the edge connector: TLS 1.2/1.3 with AES-GCM ECDHE suites only,
/// authenticates agents as agent-protocol.md section 6 says, records every frame, sends requests.
/// </summary>
internal sealed class TestAgentServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TestCertificate _certificate;
    private readonly ConcurrentQueue<ServerConnection> _connections = new();
    private readonly ConcurrentDictionary<string, ServerConnection> _sessions = new(StringComparer.Ordinal);

    private TestAgentServer(WebApplication app, TestCertificate certificate, AuthenticatePolicy policy)
    {
        _app = app;
        _certificate = certificate;
        Policy = policy;
    }

    public Uri Url { get; private set; } = null!;

    public string CertificatePemPath => _certificate.PemPath;

    public AuthenticatePolicy Policy { get; set; }

    /// <summary>When true (default), a first frame that is not an authenticate request closes the socket with 1008.</summary>
    public bool CloseUnauthenticated { get; set; } = true;

    /// <summary>When false, the server reads frames but never answers the authenticate request.</summary>
    public bool AnswerAuthentication { get; set; } = true;

    public IReadOnlyCollection<ServerConnection> Connections => _connections;

    public static async Task<TestAgentServer> StartAsync(AuthenticatePolicy? policy = null)
    {
        var certificate = TestCertificate.Create();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate.Certificate;
                https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                https.OnAuthenticate = (_, ssl) =>
                {
                    if (OperatingSystem.IsLinux())
                    {
                        ssl.CipherSuitesPolicy = ConnectorCipherSuites();
                    }
                };
            }));
        });

        var app = builder.Build();
        var server = new TestAgentServer(app, certificate, policy ?? ((_, _) => null));
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Map("/agent", server.AcceptAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri($"wss://127.0.0.1:{new Uri(address).Port}/agent");
        return server;
    }

    /// <summary>The current authenticated session of <paramref name="agentId"/>, waiting for it up to <paramref name="timeout"/>.</summary>
    public async Task<ServerConnection> SessionAsync(string agentId, TimeSpan? timeout = null, ServerConnection? newerThan = null)
    {
        ServerConnection? found = null;
        await Eventually.TrueAsync(
            () => _sessions.TryGetValue(agentId, out found) && found != newerThan && !found.IsClosed,
            timeout ?? TimeSpan.FromSeconds(15),
            $"an authenticated session of {agentId}");
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Abort();
        }

        using (var budget = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await _app.StopAsync(budget.Token);
        }

        await _app.DisposeAsync();
        _certificate.Dispose();
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static CipherSuitesPolicy ConnectorCipherSuites() => new(
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ]);

    internal void Register(ServerConnection connection) => _sessions[connection.AgentId!] = connection;

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new ServerConnection(this, socket, context.Connection.RemoteIpAddress);
        _connections.Enqueue(connection);
        await connection.RunAsync(context.RequestAborted);
    }
}
