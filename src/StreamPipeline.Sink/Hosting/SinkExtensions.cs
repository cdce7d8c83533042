using System.Net;
using ClickHouse.Driver;
using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.ServiceDefaults;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Hosting;

public static partial class SinkExtensions
{
    /// <summary>
    /// Registers the sink worker: validated options (<c>Sink</c>, <c>ClickHouse</c>, <c>Kafka</c>), the ClickHouse
    /// loader with its resilience pipeline, the dead-letter producer, the consumer thread, readiness and metrics.
    /// An <see cref="ITopicProvisioner"/> registered before (e.g. the embedded mock's) creates the dead-letter topic;
    /// otherwise the AdminClient does when <c>Kafka:CreateTopics</c> is true.
    /// </summary>
    public static WebApplicationBuilder AddSink(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddServiceDefaults(SinkMetrics.MeterName);
        services.AddValidatedOptions<SinkOptions>(builder.Configuration, SinkOptions.Section, o => o.Validate());
        services.AddValidatedOptions<ClickHouseOptions>(builder.Configuration, ClickHouseOptions.Section, o => o.Validate());
        services.AddValidatedOptions<KafkaOptions>(builder.Configuration, KafkaOptions.Section, o => o.Validate());
        services.Configure<HostOptions>(h => h.ShutdownTimeout = (builder.Configuration.GetValue<TimeSpan?>("Sink:DrainTimeout") ?? TimeSpan.FromSeconds(20)) + TimeSpan.FromSeconds(15));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SinkMetrics>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<SinkOptions>>().Value);
        services.AddSingleton(sp =>
        {
            var clickHouse = sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value;
            return new ClickHouseLoader(
                new ClickHouseClient(clickHouse.ConnectionString),
                sp.GetRequiredService<SinkOptions>().Database,
                clickHouse.InsertTimeout,
                sp.GetRequiredService<SinkMetrics>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<ClickHouseLoader>(),
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp => new SchemaCatalog(
            sp.GetRequiredService<IOptions<KafkaOptions>>().Value.SchemaRegistryUrl, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<SinkOptions>().SchemaNotFoundGrace));
        services.AddSingleton(sp =>
        {
            var kafka = sp.GetRequiredService<IOptions<KafkaOptions>>().Value;
            var sink = sp.GetRequiredService<SinkOptions>();
            var producer = new ProducerBuilder<byte[]?, byte[]?>(kafka.ProducerConfig(sink.ClientId + "-dlq")).Build();
            return new DeadLetterPublisher(producer, sink.DeadLetterTopic);
        });
        services.AddSingleton<BatchFlusher>();
        services.AddSingleton(sp =>
        {
            var kafka = sp.GetRequiredService<IOptions<KafkaOptions>>().Value;
            var sink = sp.GetRequiredService<SinkOptions>();
            return new SinkWorker(
                sink, ConsumerConfig(kafka, sink), sp.GetRequiredService<BatchFlusher>(), sp.GetRequiredService<ClickHouseLoader>(),
                sp.GetRequiredService<SchemaCatalog>(), ct => PrepareAsync(sp, ct), sp.GetRequiredService<SinkMetrics>(),
                sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<SinkWorker>>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddHostedService(sp => sp.GetRequiredService<SinkWorker>());
        services.AddHealthChecks().AddCheck<SinkReadiness>("sink", HealthStatus.Unhealthy, [ServiceDefaultsExtensions.ReadyTag]);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var o = kestrel.ApplicationServices.GetRequiredService<IOptions<SinkOptions>>().Value;
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(o.OpsAddress), o.OpsPort);
        });
        return builder;
    }

    /// <summary>Maps /healthz, /readyz and /metrics.</summary>
    public static WebApplication MapSink(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        return app;
    }

    /// <summary>The consumer: group, manual commits, Range assignment; <c>Kafka:Client</c> settings win over these defaults.</summary>
    internal static ConsumerConfig ConsumerConfig(KafkaOptions kafka, SinkOptions sink)
    {
        var config = kafka.ConsumerConfig(sink.GroupId, sink.ClientId);
        config.EnablePartitionEof = false;
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        foreach (var (key, value) in kafka.Client) config.Set(key, value);
        return config;
    }

    /// <summary>Before consuming: the dead-letter topic exists and the migrations are applied (retried while ClickHouse is unreachable).</summary>
    private static async Task PrepareAsync(IServiceProvider sp, CancellationToken cancellationToken)
    {
        var sink = sp.GetRequiredService<SinkOptions>();
        var kafka = sp.GetRequiredService<IOptions<KafkaOptions>>().Value;
        var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("StreamPipeline.Sink.Hosting");
        if (sink.CreateDeadLetterTopic)
        {
            var provisioner = sp.GetService<ITopicProvisioner>() ?? (kafka.CreateTopics ? new AdminClientTopicProvisioner(kafka.AdminConfig(sink.ClientId + "-admin")) : null);
            if (provisioner is not null)
            {
                await provisioner.EnsureTopicsAsync([new TopicSpec(sink.DeadLetterTopic, sink.DeadLetterPartitions)], cancellationToken);
            }
        }

        var loader = sp.GetRequiredService<ClickHouseLoader>();
        var retry = Retry.Forever(
            e => ClickHouseErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested,
            (e, delay) => LogClickHouseUnavailable(logger, e.Message, delay.TotalSeconds),
            sp.GetRequiredService<TimeProvider>(), first: TimeSpan.FromMilliseconds(250), max: TimeSpan.FromSeconds(5));
        await retry.ExecuteAsync(async ct =>
        {
            if (sink.ApplyMigrations)
            {
                var applied = await new MigrationRunner(loader.Client, logger).ApplyAsync(MigrationSettings.From(sink, sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Cluster), ct);
                LogMigrated(logger, sink.Database, applied);
            }

            var problems = await DeduplicationWindowCheck.ProblemsAsync(loader.Client, sink, ct);
            if (problems.Count > 0)
            {
                throw new InvalidOperationException("A replay after a crash could insert twice: " + string.Join(" ", problems));
            }
        }, cancellationToken);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "ClickHouse database {Database} up to date ({Applied} migrations applied now)")]
    private static partial void LogMigrated(ILogger logger, string database, int applied);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "ClickHouse unreachable while applying migrations ({Reason}); retrying in {Seconds:F1} s. Check ClickHouse:ConnectionString.")]
    private static partial void LogClickHouseUnavailable(ILogger logger, string reason, double seconds);
}

/// <summary>Ready when migrations are applied, ClickHouse answers a ping and the consumer owns partitions.</summary>
internal sealed class SinkReadiness(SinkWorker worker, ClickHouseLoader loader) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!worker.Prepared) return HealthCheckResult.Unhealthy("migrations not applied yet (ClickHouse unreachable?)");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        if (!await loader.PingAsync(timeout.Token)) return HealthCheckResult.Unhealthy("ClickHouse does not answer /ping");
        return worker.AssignedPartitions == 0
            ? HealthCheckResult.Unhealthy("no partitions assigned (joining the group, or more sink instances than partitions)")
            : HealthCheckResult.Healthy($"{worker.AssignedPartitions} partitions assigned");
    }
}
