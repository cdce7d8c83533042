using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

internal sealed partial class ChDbEngine
{
    private static partial class Log
    {
        [LoggerMessage(LogEventIds.LibraryLoaded, LogLevel.Information, "chDB library loaded from {LibraryPath}")]
        public static partial void LibraryLoaded(ILogger logger, string libraryPath);

        [LoggerMessage(LogEventIds.EngineStarted, LogLevel.Information, "chDB engine {Version} started on {DataPath} with {Arguments}")]
        public static partial void EngineStarted(ILogger logger, string version, string dataPath, string arguments);

        [LoggerMessage(LogEventIds.EngineReused, LogLevel.Information, "chDB engine on {DataPath} is already running in this process; reusing it")]
        public static partial void EngineReused(ILogger logger, string dataPath);

        [LoggerMessage(LogEventIds.SessionDiscarded, LogLevel.Debug, "chDB session discarded after a client changed its state with SET or USE")]
        public static partial void SessionDiscarded(ILogger logger);
    }
}
