using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.ClickHouse.Http;

internal sealed partial class ClickHouseHttpFacade
{
    private static partial class Log
    {
        [LoggerMessage(LogEventIds.FacadeStarted, LogLevel.Information, "ClickHouse HTTP facade listening on {Url} (data in {DataPath})")]
        public static partial void FacadeStarted(ILogger logger, Uri url, string dataPath);

        [LoggerMessage(LogEventIds.FacadeStopped, LogLevel.Information, "ClickHouse HTTP facade on {Url} stopped")]
        public static partial void FacadeStopped(ILogger logger, Uri url);

        [LoggerMessage(LogEventIds.QueryFailed, LogLevel.Debug, "Query {QueryId} failed with code {Code} ({Name}): {Message}")]
        public static partial void QueryFailed(ILogger logger, string queryId, int code, string name, string message);

        [LoggerMessage(LogEventIds.RequestRejected, LogLevel.Information, "Request {QueryId} rejected with code {Code} ({Name}): {Message}")]
        public static partial void RequestRejected(ILogger logger, string queryId, int code, string name, string message);

        [LoggerMessage(LogEventIds.ResponseAborted, LogLevel.Warning, "Query {QueryId} failed after its response had started; the connection was aborted: {Message}")]
        public static partial void ResponseAborted(ILogger logger, string queryId, string message);

        [LoggerMessage(LogEventIds.UnexpectedError, LogLevel.Warning, "Request {QueryId} failed unexpectedly")]
        public static partial void UnexpectedError(ILogger logger, Exception exception, string queryId);
    }
}
