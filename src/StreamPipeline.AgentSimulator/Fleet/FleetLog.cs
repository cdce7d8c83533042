using Microsoft.Extensions.Logging;

namespace StreamPipeline.AgentSimulator.Fleet;

internal static partial class FleetLog
{
    [LoggerMessage(LogEvents.FleetStarting, LogLevel.Information, "Starting {AgentCount} simulated agents ({FirstAgentId}..{LastAgentId}) against {ServerUrl}, {Rate} connections/s (0 = unlimited), misbehaviour {Misbehaviour} x {Fraction}")]
    public static partial void Starting(ILogger logger, int agentCount, string firstAgentId, string lastAgentId, Uri serverUrl, double rate, Misbehaviour.AgentMisbehaviour misbehaviour, double fraction);

    [LoggerMessage(LogEvents.FleetStopping, LogLevel.Information, "Stopping {AgentCount} simulated agents")]
    public static partial void Stopping(ILogger logger, int agentCount);

    [LoggerMessage(LogEvents.FleetStopped, LogLevel.Information, "Simulated fleet stopped: {Stats}")]
    public static partial void Stopped(ILogger logger, FleetStats stats);

    [LoggerMessage(LogEvents.FleetStopTimedOut, LogLevel.Warning, "{Remaining} agents did not close within {Budget}; aborting their sockets")]
    public static partial void StopTimedOut(ILogger logger, int remaining, TimeSpan budget);

    [LoggerMessage(LogEvents.FleetStats, LogLevel.Information, "{Stats}")]
    public static partial void Stats(ILogger logger, FleetStats stats);

    [LoggerMessage(LogEvents.StormStarting, LogLevel.Information, "Reconnect storm: dropping {AgentCount} connections at once")]
    public static partial void StormStarting(ILogger logger, int agentCount);

    [LoggerMessage(LogEvents.StormFinished, LogLevel.Information, "Reconnect storm: {Result}")]
    public static partial void StormFinished(ILogger logger, StormResult result);
}
