using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests;

public sealed class EmbeddedSchemaRegistryTests
{
    [Fact]
    public async Task StartAsync_PortZero_ListensOnLoopbackEphemeralPort()
    {
        await using EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var http = new HttpClient { BaseAddress = registry.Url };

        var response = await http.SendAsync(HttpMethod.Get, "/subjects");

        Assert.Equal("127.0.0.1", registry.Url.Host);
        Assert.NotEqual(0, registry.Url.Port);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("[]", response.Body.GetRawText());
    }

    [Fact]
    public async Task StartAsync_PortInUse_ThrowsNamingAddressAndSettingAndFirstKeepsServing()
    {
        await using EmbeddedSchemaRegistry first = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        int port = first.Url.Port;

        var ex = await Assert.ThrowsAsync<IOException>(() =>
            EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { Port = port }));

        Assert.Equal(
            $"Embedded Schema Registry cannot listen on 127.0.0.1:{port}: the port is in use. Set EmbeddedSchemaRegistryOptions.Port to a free port or 0.",
            ex.Message);
        using var http = new HttpClient { BaseAddress = first.Url };
        await http.AssertStillServesAsync();
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsNamingEverySetting()
    {
        var options = new EmbeddedSchemaRegistryOptions { Host = "not-an-ip", Port = 70000, DefaultCompatibility = (SchemaCompatibilityLevel)42 };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddedSchemaRegistry.StartAsync(options));

        Assert.Contains("EmbeddedSchemaRegistryOptions.Host", ex.Message, StringComparison.Ordinal);
        Assert.Contains("EmbeddedSchemaRegistryOptions.Port", ex.Message, StringComparison.Ordinal);
        Assert.Contains("EmbeddedSchemaRegistryOptions.DefaultCompatibility", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_DefaultCompatibilityFull_IsGlobalLevel()
    {
        await using EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(
            new EmbeddedSchemaRegistryOptions { DefaultCompatibility = SchemaCompatibilityLevel.FullTransitive });
        using var http = new HttpClient { BaseAddress = registry.Url };

        var config = await http.SendAsync(HttpMethod.Get, "/config");

        Assert.Equal("FULL_TRANSITIVE", config.Body.GetProperty("compatibilityLevel").GetString());
    }

    [Fact]
    public async Task PutConfig_Global_ChangesLevelForAllSubjects()
    {
        await using EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var http = new HttpClient { BaseAddress = registry.Url };
        await http.SendAsync(HttpMethod.Post, "/subjects/s/versions", TestSchemas.Body(TestSchemas.UserV1));

        var put = await http.SendAsync(HttpMethod.Put, "/config", """{"compatibility":"none"}""");
        var get = await http.SendAsync(HttpMethod.Get, "/config");
        var register = await http.SendAsync(HttpMethod.Post, "/subjects/s/versions", TestSchemas.Body(TestSchemas.UserNameAsInt));
        var invalid = await http.SendAsync(HttpMethod.Put, "/config", """{"level":"FULL"}""");

        Assert.Equal("NONE", put.Body.GetProperty("compatibility").GetString());
        Assert.Equal("NONE", get.Body.GetProperty("compatibilityLevel").GetString());
        Assert.Equal(HttpStatusCode.OK, register.Status);
        invalid.AssertError(HttpStatusCode.UnprocessableEntity, 42203);
    }

    [Fact]
    public async Task StopAsync_CalledTwiceThenDisposed_StopsListening()
    {
        EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var http = new HttpClient { BaseAddress = registry.Url };

        await registry.StopAsync();
        await registry.StopAsync();
        await registry.DisposeAsync();

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri("/subjects", UriKind.Relative)));
    }

    [Fact]
    public async Task StartAsync_WithLoggerFactory_LogsRegistryEventsButNotFrameworkInformation()
    {
        var provider = new CapturingLoggerProvider();
        using (ILoggerFactory loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(provider)))
        {
            await using EmbeddedSchemaRegistry registry = await EmbeddedSchemaRegistry.StartAsync(
                new EmbeddedSchemaRegistryOptions { LoggerFactory = loggerFactory });
            using var http = new HttpClient { BaseAddress = registry.Url };
            await http.AssertStillServesAsync();
        }

        Assert.Contains(provider.Entries, e => e.Message.StartsWith("Embedded Schema Registry listening on", StringComparison.Ordinal));
        Assert.Contains(provider.Entries, e => e.Message.StartsWith("Registered schema id", StringComparison.Ordinal));
        Assert.DoesNotContain(provider.Entries, e => e.Category.StartsWith("Microsoft", StringComparison.Ordinal) && e.Level < LogLevel.Warning);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class CapturingLogger(string category, ConcurrentQueue<(string, LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
