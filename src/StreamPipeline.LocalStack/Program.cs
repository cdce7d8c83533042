using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.LocalStack;
using StreamPipeline.ServiceDefaults.Hosting;
using StreamPipeline.LocalStack.FleetPage;

// make run: the whole pipeline on embedded defaults, in one process.
//   (no argument)  Kafka + Schema Registry + ClickHouse, then the services and a simulated fleet
//   infra          Kafka + Schema Registry + ClickHouse only (make infra); writes their endpoints to LocalStack:InfraEnvFile
//   kafka          only the embedded Kafka; prints its bootstrap servers
// SIGTERM, SIGINT and Ctrl-C stop every mode with the same drain; exit codes are ServiceExitCodes (docs/deploy.md).
var configuration = new ConfigurationBuilder()
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables("StreamPipeline__")
    .AddCommandLine(args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToArray())
    .Build();
var options = configuration.GetSection("LocalStack").Get<LocalStackOptions>() ?? new LocalStackOptions();
var errors = options.Validate();
if (errors.Count > 0)
{
    Console.Error.WriteLine("Invalid configuration:\n  " + string.Join("\n  ", errors));
    return ServiceExitCodes.StartFailed;
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information));
using var stop = new CancellationTokenSource();
using var signals = new StopSignals(stop, options.StopTimeout);

var mode = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
switch (mode)
{
    case "kafka":
    {
        using var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = options.KafkaBrokers });
        await new MockClusterTopicProvisioner(kafka).EnsureTopicsAsync(PipelineTopics.All(), stop.Token);
        Console.WriteLine($"BOOTSTRAP_SERVERS={kafka.BootstrapServers}");
        Console.Out.Flush();
        await WaitForStopAsync(stop.Token);
        return ServiceExitCodes.Success;
    }

    case "infra":
    {
        var infra = await StartInfrastructureAsync(options, loggerFactory, stop.Token);
        if (infra is null) return ServiceExitCodes.StartFailed;
        await using (infra)
        {
            var envFile = InfraEnvironmentFile.Write(options.InfraEnvFile, infra);
            Banner.PrintInfrastructure(infra, options, envFile);
            await WaitForStopAsync(stop.Token);
            Console.WriteLine("Stopping the infrastructure...");
            File.Delete(envFile);
        }

        Console.WriteLine("Stopped.");
        return ServiceExitCodes.Success;
    }

    case "all":
    {
        var infra = await StartInfrastructureAsync(options, loggerFactory, stop.Token);
        if (infra is null) return ServiceExitCodes.StartFailed;
        await using (infra)
        {
            PipelineServices services;
            try
            {
                services = await PipelineServices.StartAsync(infra, options, args, loggerFactory, stop.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or Microsoft.Extensions.Options.OptionsValidationException)
            {
                Console.Error.WriteLine("StreamPipeline could not start its services: " + e.Message);
                return ServiceExitCodes.StartFailed;
            }

            // The endpoints of this run, for `make spctl` and for services started by hand beside it.
            var envFile = InfraEnvironmentFile.Write(options.InfraEnvFile, infra);
            await using (services)
            {
                await using var fleetPage = await FleetPageServer.TryStartAsync(
                    configuration.GetSection("FleetPage").Get<FleetPageOptions>() ?? new FleetPageOptions(), infra.ClickHouse.Url, "streampipeline", options.MetricsInterval, loggerFactory, stop.Token);
                Banner.Print(infra, services, options, fleetPage?.Url);
                _ = CommandDemo.RunAsync(infra, services, stop.Token);
                await StatusReporter.RunAsync(infra, services, stop.Token);
                Console.WriteLine("Stopping: draining agents, flushing Kafka...");
            }

            File.Delete(envFile);
        }

        // Everything is drained, flushed and closed. The embedded engine's library ends the process without chDB's static
        // destructors once Main returns (ChDbLibrary: they crashed under chDB's own pool threads).
        Console.WriteLine("Stopped.");
        return ServiceExitCodes.Success;
    }

    default:
        Console.Error.WriteLine($"Unknown mode '{mode}'. Use no argument (whole pipeline), 'infra' (Kafka, Schema Registry, ClickHouse) or 'kafka' (embedded Kafka only).");
        return ServiceExitCodes.StartFailed;
}

static async Task<EmbeddedInfrastructure?> StartInfrastructureAsync(LocalStackOptions options, ILoggerFactory loggerFactory, CancellationToken ct)
{
    try
    {
        return await EmbeddedInfrastructure.StartAsync(options, loggerFactory, ct);
    }
    catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or DllNotFoundException)
    {
        Console.Error.WriteLine("StreamPipeline could not start: " + e.Message);
        return null;
    }
}

static async Task WaitForStopAsync(CancellationToken token)
{
    try { await Task.Delay(Timeout.Infinite, token); }
    catch (OperationCanceledException) { }
}
