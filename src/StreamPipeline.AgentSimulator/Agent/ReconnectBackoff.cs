using System.Net.WebSockets;
using StreamPipeline.AgentSimulator.Host;

namespace StreamPipeline.AgentSimulator.Agent;

/// <summary>How a connection ended, which decides the next delay.</summary>
internal enum SessionEndKind
{
    ConnectFailed,
    AuthFailed,
    AuthTimeout,
    Revoked,
    Closed,
    GoingAway,
    PolicyViolation,
    Lost,
    Storm,
    Stopped,
}

internal readonly record struct SessionEnd(SessionEndKind Kind, bool WasAuthenticated, WebSocketCloseStatus? CloseStatus = null, string? Reason = null);

/// <summary>
/// Exponential backoff with jitter: <c>min * 2^failures</c> capped at the maximum, then a random 50-100% of it.
/// A refused authentication (or a 1008 close) waits at least <see cref="SimulatorOptions.AuthFailureReconnectDelay"/>;
/// a 1001 close (connector draining) reconnects within <see cref="SimulatorOptions.GoingAwayReconnectJitter"/>;
/// a storm reconnects at once.
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Next(SessionEnd end, int failures, SimRandom random, SimulatorOptions options)
    {
        switch (end.Kind)
        {
            case SessionEndKind.Storm:
                return TimeSpan.Zero;
            case SessionEndKind.GoingAway:
                return options.GoingAwayReconnectJitter * random.NextDouble();
        }

        var exponent = Math.Min(failures, 30);
        var capped = Math.Min(options.MaxReconnectDelay.TotalMilliseconds, options.MinReconnectDelay.TotalMilliseconds * Math.Pow(2, exponent));
        var delay = TimeSpan.FromMilliseconds(capped * random.NextDouble(0.5, 1.0));
        if (end.Kind is SessionEndKind.AuthFailed or SessionEndKind.PolicyViolation)
        {
            var floor = options.AuthFailureReconnectDelay * random.NextDouble(1.0, 1.25);
            delay = delay > floor ? delay : floor;
        }

        return delay;
    }
}
