using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>
/// Sends the embedded host's logs to the caller's factory, so the host's own filters (ASP.NET
/// Core categories at Warning) apply without touching the caller's configuration. Disposing it
/// leaves the caller's factory alone.
/// </summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);

    public void Dispose()
    {
    }
}
