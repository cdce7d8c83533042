namespace StreamPipeline.AgentSimulator;

/// <summary>Every log event id of the simulator, in one place so ids never collide.</summary>
internal static class LogEvents
{
    // Fleet: 7001-7099
    public const int FleetStarting = 7001;
    public const int FleetStopping = 7002;
    public const int FleetStopped = 7003;
    public const int FleetStats = 7004;
    public const int StormStarting = 7005;
    public const int StormFinished = 7006;
    public const int FleetStopTimedOut = 7007;

    // Agent sessions: 7100-7199
    public const int ConnectFailed = 7100;
    public const int Authenticated = 7101;
    public const int AuthenticationFailed = 7102;
    public const int TokenRevoked = 7103;
    public const int AuthenticationTimedOut = 7104;
    public const int ConnectionClosed = 7105;
    public const int ConnectionLost = 7106;
    public const int SessionReplaced = 7107;
    public const int MalformedServerMessage = 7108;
    public const int ServerMessageTooBig = 7109;
    public const int ReconnectScheduled = 7110;
    public const int ConfigApplied = 7111;
    public const int SendFailed = 7112;
    public const int AgentFaulted = 7113;
}
