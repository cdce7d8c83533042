using ClickHouse.Driver;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Hosting;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Replay;

/// <summary>
/// <c>dotnet StreamPipeline.Sink.dll replay-dead-letters --Replay:Topic=agent-metrics-sink-dlq --Replay:FromOffset=0</c>:
/// replays a dead-letter range into the tables after a fix and prints the counts. Same configuration as the service
/// (environment <c>StreamPipeline__...</c>, command line). Exit codes: 0 every replayable record is in, 1 bad settings
/// or unreachable infrastructure, 3 some records still fail (they stay in the topic; the counts say why).
/// </summary>
internal static class ReplayCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables("StreamPipeline__")
            .AddCommandLine(args)
            .Build();
        return (await RunAsync(configuration, Console.Out, Console.Error)).ExitCode;
    }

    /// <summary>The command on a given configuration; the report is null when it could not run.</summary>
    internal static async Task<(int ExitCode, ReplayReport? Report)> RunAsync(IConfiguration configuration, TextWriter output, TextWriter errorOutput)
    {
        var sink = configuration.GetSection(SinkOptions.Section).Get<SinkOptions>() ?? new SinkOptions();
        var clickHouse = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new ClickHouseOptions();
        var kafka = configuration.GetSection(KafkaOptions.Section).Get<KafkaOptions>() ?? new KafkaOptions();
        var replay = configuration.GetSection(DeadLetterReplayOptions.Section).Get<DeadLetterReplayOptions>() ?? new DeadLetterReplayOptions();
        var errors = new List<string>(sink.Validate());
        errors.AddRange(clickHouse.Validate());
        errors.AddRange(kafka.Validate());
        errors.AddRange(replay.Validate());
        if (errors.Count > 0)
        {
            foreach (var error in errors) await errorOutput.WriteLineAsync(error);
            return (1, null);
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        using var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var time = TimeProvider.System;
        using var loader = new ClickHouseLoader(new ClickHouseClient(clickHouse.ConnectionString), sink.Database, clickHouse.InsertTimeout, new SinkMetrics(meters), loggerFactory.CreateLogger<ClickHouseLoader>(), time);
        using var schemas = new SchemaCatalog(kafka.SchemaRegistryUrl, time, TimeSpan.Zero);
        var consumer = kafka.ConsumerConfig(sink.GroupId + "-replay", sink.ClientId + "-replay");
        consumer.EnableAutoCommit = false;
        consumer.EnableAutoOffsetStore = false;
        consumer.EnablePartitionEof = false;
        try
        {
            if (sink.ApplyMigrations) await new MigrationRunner(loader.Client, loggerFactory.CreateLogger("migrate")).ApplyAsync(MigrationSettings.From(sink, clickHouse.Cluster), CancellationToken.None);
            var replayer = new DeadLetterReplayer(loader, new ReplayLedger(loader.Client, sink.Database, time), schemas, sink, replay, consumer,
                kafka.AdminConfig(sink.ClientId + "-replay-admin"), time, loggerFactory.CreateLogger<DeadLetterReplayer>());
            var report = await replayer.RunAsync(CancellationToken.None);
            await output.WriteLineAsync($"{(replay.DryRun ? "Dry run, nothing written: " : "")}{replay.Topic}: {report}");
            return (report.Failing > 0 ? 3 : 0, report);
        }
        catch (Exception e) when (e is ClickHouseServerException or HttpRequestException or InvalidOperationException or TimeoutException or Confluent.Kafka.KafkaException or SchemaRegistryUnavailableException)
        {
            await errorOutput.WriteLineAsync($"replay-dead-letters failed: {e.Message}");
            return (1, null);
        }
    }
}
