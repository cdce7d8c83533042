using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Testing.Kafka;
using Xunit.Abstractions;

namespace StreamPipeline.Dispatcher.Tests.Dispatching;

/// <summary>One Kafka (embedded mock unless Docker is there) and one embedded Schema Registry per test class.</summary>
public sealed class DispatcherFixture(IMessageSink sink) : IAsyncLifetime
{
    public KafkaFixture Kafka { get; } = new(sink);

    public string RegistryUrl { get; private set; } = "";

    private EmbeddedSchemaRegistry? _registry;

    public async Task InitializeAsync()
    {
        await Kafka.InitializeAsync();
        _registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        RegistryUrl = _registry.Url.ToString().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null) await _registry.DisposeAsync();
        await Kafka.DisposeAsync();
    }
}
