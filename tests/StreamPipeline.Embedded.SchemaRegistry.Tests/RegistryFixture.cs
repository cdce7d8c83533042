namespace StreamPipeline.Embedded.SchemaRegistry.Tests;

/// <summary>
/// One registry on an ephemeral port shared by a test class. Tests that share it use
/// <see cref="NewSubject"/> so they never see each other's subjects; tests that change the
/// global compatibility level start their own registry instead.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private EmbeddedSchemaRegistry? _registry;

    public EmbeddedSchemaRegistry Registry => _registry ?? throw new InvalidOperationException("The registry has not started.");

    public HttpClient Http { get; private set; } = new();

    public static string NewSubject(string prefix = "subject") => $"{prefix}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        Http = new HttpClient { BaseAddress = _registry.Url };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}
