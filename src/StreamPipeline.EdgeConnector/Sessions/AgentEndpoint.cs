using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.EdgeConnector.Hosting;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Telemetry;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// The agent endpoint (<c>wss://HOST:Port/Path</c>): refuses what is not a WebSocket over TLS with 400, refuses
/// cheaply before the upgrade (HTTP 503 with <c>Retry-After</c>) what <see cref="AdmissionControl"/> says no to, and
/// hands every admitted socket to <see cref="AgentConnectionHandler"/>.
/// </summary>
internal sealed class AgentEndpoint(
    IOptions<EdgeConnectorOptions> options, AdmissionControl admission, KafkaPublisher publisher, CommandRelay relay, PresenceWatch watch,
    Authentication.ICredentialStore credentials, AgentConnectionHandler handler, DrainCoordinator drain, ConnectorMetrics metrics)
{
    private readonly EdgeConnectorOptions _options = options.Value;

    public async Task AcceptAsync(HttpContext context)
    {
        if (!context.Request.IsHttps || !context.WebSockets.IsWebSocketRequest)
        {
            metrics.ConnectionRejected("not_wss");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Agents connect with a WebSocket over TLS: wss://<host>:{_options.Port}{_options.Path}\n");
            return;
        }

        // An agent admitted before the relay reads its partition from a fixed position could miss its first commands;
        // one admitted before the credential store is read to its end could be refused (or let in) on stale credentials.
        var refusal = admission.TryAdmit(publisher.IsReady && relay.IsListening && watch.IsWatching && credentials.IsReady);
        if (refusal != AdmissionRefusal.None)
        {
            metrics.ConnectionRejected(AdmissionControl.Label(refusal));
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            // Spread the retries of a storm over a few seconds.
            context.Response.Headers.RetryAfter = Random.Shared.Next(1, 6).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsync(AdmissionControl.Explain(refusal) + "\n");
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = _options.KeepAliveInterval,
                KeepAliveTimeout = _options.KeepAliveTimeout,
            });
            metrics.ConnectionsAccepted.Add(1);
            var remote = context.Connection.RemoteIpAddress ?? IPAddress.None;
            await handler.HandleAsync(socket, remote, drain.HardStop);
        }
        finally
        {
            admission.Release();
        }
    }
}
