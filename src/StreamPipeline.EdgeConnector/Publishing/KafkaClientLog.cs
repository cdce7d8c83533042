using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.EdgeConnector.Publishing;

/// <summary>
/// librdkafka's own errors and log lines, routed to our logs. A broker that is down makes the client report every
/// reconnect attempt; those go to Debug, and only "all brokers down" and fatal errors are warnings.
/// </summary>
internal static partial class KafkaClientLog
{
    public static void Error(ILogger logger, Confluent.Kafka.Error e)
    {
        if (e.IsFatal) LogFatal(logger, e.Code, e.Reason);
        else if (e.Code == ErrorCode.Local_AllBrokersDown) LogAllBrokersDown(logger, e.Reason);
        else LogTransient(logger, e.Code, e.Reason);
    }

    public static void Message(ILogger logger, LogMessage m) => LogClient(logger, m.Name, m.Facility, m.Message);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Critical, Message = "Kafka client fatal error {Code}: {Reason}")]
    private static partial void LogFatal(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Kafka unreachable: {Reason}. Records wait in the producer; sockets are no longer read once the in-flight bound is reached.")]
    private static partial void LogAllBrokersDown(ILogger logger, string reason);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Debug, Message = "Kafka client error {Code}: {Reason}")]
    private static partial void LogTransient(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Debug, Message = "Kafka client {Name} {Facility}: {Message}")]
    private static partial void LogClient(ILogger logger, string name, string facility, string message);
}
