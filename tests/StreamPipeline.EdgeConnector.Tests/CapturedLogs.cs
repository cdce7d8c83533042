using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>
/// Keeps every formatted log line of a connector, with its event id, for tests that check what is logged. Lines at
/// <paramref name="minimum"/> and above are kept (default Information; the host's own filter applies first, so a test
/// that wants every line also sets <c>Logging:LogLevel:Default</c>). Below Information, a line's message also has the
/// exception and every structured value of its state appended, so a secret in either is seen.
/// </summary>
internal sealed class CapturedLogs(LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _lines = new();
    private readonly LogLevel _minimum = minimum;

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (owner._minimum < LogLevel.Information)
            {
                if (exception is not null) message += Environment.NewLine + exception;
                if (state is IEnumerable<KeyValuePair<string, object?>> values) message += Environment.NewLine + string.Join(" ", values.Select(kv => $"{kv.Key}={kv.Value}"));
            }

            owner._lines.Enqueue((eventId.Id, logLevel, message));
        }
    }
}
