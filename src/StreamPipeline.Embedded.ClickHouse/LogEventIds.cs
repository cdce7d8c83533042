namespace StreamPipeline.Embedded.ClickHouse;

/// <summary>The one registry of log event ids of this component (the <c>[LoggerMessage]</c> definitions use these); its range is 8000-8499 (docs/deploy.md, "Log event ids").</summary>
internal static class LogEventIds
{
    public const int LibraryLoaded = 8100;
    public const int EngineStarted = 8101;
    public const int EngineReused = 8102;
    public const int SessionDiscarded = 8103;
    public const int FacadeStarted = 8200;
    public const int FacadeStopped = 8201;
    public const int QueryFailed = 8210;
    public const int RequestRejected = 8211;
    public const int ResponseAborted = 8212;
    public const int UnexpectedError = 8213;
}
