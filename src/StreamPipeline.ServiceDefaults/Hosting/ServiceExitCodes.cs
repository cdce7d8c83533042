namespace StreamPipeline.ServiceDefaults.Hosting;

/// <summary>
/// The exit codes of every StreamPipeline process (services, <c>make run</c>, <c>make infra</c>), one table so an
/// orchestrator's restart policy and an operator's alert can tell them apart. Documented in docs/deploy.md.
/// </summary>
public static class ServiceExitCodes
{
    /// <summary>Stopped on request (SIGTERM, SIGINT, Ctrl-C) after a complete drain.</summary>
    public const int Success = 0;

    /// <summary>Could not start: invalid configuration (the message names the setting) or a port already in use.</summary>
    public const int StartFailed = 1;

    /// <summary>The sink stopped on a fatal error it cannot retry (e.g. ClickHouse rejects its schema); the log says which.</summary>
    public const int SinkFatal = 2;

    /// <summary>
    /// A fatal Kafka or Schema Registry condition: the connector's schema is incompatible with the registered one,
    /// or the dispatcher hit an unrecoverable Kafka error. Restarting does not help until the cause is fixed.
    /// </summary>
    public const int FatalDependency = 3;

    /// <summary>The drain did not finish inside the shutdown budget; the process ended itself rather than hang.</summary>
    public const int ShutdownTimedOut = 4;

    /// <summary>A second stop signal arrived during the drain: the process ended at once without finishing it.</summary>
    public const int Interrupted = 130;
}
