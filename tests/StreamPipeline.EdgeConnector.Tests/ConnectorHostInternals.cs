using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.Testing.EdgeConnector;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>What these tests read inside a <see cref="ConnectorHost"/> (internal types, visible to this project only).</summary>
internal static class ConnectorHostInternals
{
    extension(ConnectorHost connector)
    {
        public KafkaPublisher Publisher => connector.App.Services.GetRequiredService<KafkaPublisher>();
    }
}
