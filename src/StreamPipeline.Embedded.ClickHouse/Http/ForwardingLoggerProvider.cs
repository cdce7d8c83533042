using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>Sends the web host's own logs (filtered to Warning for Microsoft.*) to the caller's logger factory.</summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);

    public void Dispose()
    {
        // The caller owns the factory.
    }
}
