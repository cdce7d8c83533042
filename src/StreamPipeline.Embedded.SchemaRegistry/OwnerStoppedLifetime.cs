using Microsoft.Extensions.Hosting;

namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>A host lifetime that listens to no signal: the embedding process owns SIGTERM/SIGINT and stops this host itself.</summary>
internal sealed class OwnerStoppedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
