namespace StreamPipeline.Embedded.ClickHouse;

/// <summary>The one registry of log event ids of this component (the <c>[LoggerMessage]</c> definitions use these).</summary>
internal static class LogEventIds
{
    public const int LibraryLoaded = 100;
    public const int EngineStarted = 101;
    public const int EngineReused = 102;
    public const int SessionDiscarded = 103;
    public const int FacadeStarted = 200;
    public const int FacadeStopped = 201;
    public const int QueryFailed = 210;
    public const int RequestRejected = 211;
    public const int ResponseAborted = 212;
    public const int UnexpectedError = 213;
}
