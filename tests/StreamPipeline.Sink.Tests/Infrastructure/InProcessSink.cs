using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Hosting;

namespace StreamPipeline.Sink.Tests.Infrastructure;

/// <summary>The sink service, wired exactly as Program.cs does, running inside the test process.</summary>
public sealed class InProcessSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessSink(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    /// <summary>The ops listener (/healthz, /readyz, /metrics), e.g. http://127.0.0.1:41234.</summary>
    public Uri OpsUrl => new(_app.Urls.First());

    /// <summary>Configuration every test sink gets: the fixture's stack, the test's topics, database and group.</summary>
    public static Dictionary<string, string?> Settings(SinkFixture fixture, TestTopics topics, string database, string group) => new()
    {
        ["Kafka:BootstrapServers"] = fixture.Kafka.BootstrapServers,
        ["Kafka:SchemaRegistryUrl"] = fixture.Registry.Url.ToString(),
        ["Kafka:Client:session.timeout.ms"] = "6000",
        ["ClickHouse:ConnectionString"] = fixture.ClickHouse.ConnectionString,
        ["Sink:GroupId"] = group,
        ["Sink:MetricsTopic"] = topics.Metrics,
        ["Sink:PresenceTopic"] = topics.Presence,
        ["Sink:DeadLetterTopic"] = topics.DeadLetter,
        ["Sink:CommandResultsTopic"] = topics.CommandResults,
        ["Sink:ConnectorDeadLetterTopic"] = topics.ConnectorDeadLetter,
        ["Sink:CredentialAuditTopic"] = topics.CredentialAudit,
        ["Sink:Database"] = database,
        ["Sink:BatchMaxDelay"] = "00:00:00.200",
        ["Sink:OpsAddress"] = "127.0.0.1",
        ["Sink:OpsPort"] = "0",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    public static async Task<InProcessSink> StartAsync(SinkFixture fixture, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<ITopicProvisioner>(new MockClusterTopicProvisioner(fixture.Kafka));
        builder.AddSink();
        var app = builder.Build();
        app.MapSink();
        await app.StartAsync();
        var worker = app.Services.GetRequiredService<SinkWorker>();
        await Testing.Eventually.TrueAsync(() => worker.Prepared && worker.AssignedPartitions > 0, TimeSpan.FromSeconds(60), "the sink to apply migrations and get partitions");
        return new InProcessSink(app);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
