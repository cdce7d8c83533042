namespace StreamPipeline.AgentSimulator;

/// <summary>Every log event id of the simulator, in one place so ids never collide.</summary>
internal static class LogEvents
{
    // Fleet: 1-99
    public const int FleetStarting = 1;
    public const int FleetStopping = 2;
    public const int FleetStopped = 3;
    public const int FleetStats = 4;
    public const int StormStarting = 5;
    public const int StormFinished = 6;
    public const int FleetStopTimedOut = 7;

    // Agent sessions: 100-199
    public const int ConnectFailed = 100;
    public const int Authenticated = 101;
    public const int AuthenticationFailed = 102;
    public const int TokenRevoked = 103;
    public const int AuthenticationTimedOut = 104;
    public const int ConnectionClosed = 105;
    public const int ConnectionLost = 106;
    public const int SessionReplaced = 107;
    public const int MalformedServerMessage = 108;
    public const int ServerMessageTooBig = 109;
    public const int ReconnectScheduled = 110;
    public const int ConfigApplied = 111;
    public const int SendFailed = 112;
    public const int AgentFaulted = 113;
}
