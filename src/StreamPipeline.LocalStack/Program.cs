using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.LocalStack;
using StreamPipeline.LocalStack.FleetPage;

// make run: the whole pipeline on embedded defaults, in one process.
//   (no argument)  Kafka + Schema Registry + ClickHouse, then the services and a simulated fleet
//   kafka          only the embedded Kafka; prints its bootstrap servers (for services run elsewhere)
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
    return 2;
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information));
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    try { stop.Cancel(); }
    catch (ObjectDisposedException) { }
};

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
        return 0;
    }

    case "all":
    {
        EmbeddedInfrastructure infra;
        try
        {
            infra = await EmbeddedInfrastructure.StartAsync(options, loggerFactory, stop.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or DllNotFoundException)
        {
            Console.Error.WriteLine("StreamPipeline could not start: " + e.Message);
            return 1;
        }

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
                return 1;
            }

            await using (services)
            {
                await using var fleetPage = await FleetPageServer.TryStartAsync(
                    configuration.GetSection("FleetPage").Get<FleetPageOptions>() ?? new FleetPageOptions(), infra.ClickHouse.Url, "streampipeline", options.MetricsInterval, loggerFactory, stop.Token);
                Banner.Print(infra, services, options, fleetPage?.Url);
                _ = CommandDemo.RunAsync(infra, services, stop.Token);
                await StatusReporter.RunAsync(infra, services, stop.Token);
                Console.WriteLine("Stopping: draining agents, flushing Kafka...");
            }
        }

        Console.WriteLine("Stopped.");
        // Everything is drained, flushed and closed. Leave without running native static destructors: chDB keeps
        // background threads for the life of the process, and tearing its statics down under them crashed (SIGSEGV)
        // one stop in six.
        NativeExit.Now(0);
        return 0;
    }

    default:
        Console.Error.WriteLine($"Unknown mode '{mode}'. Use no argument (whole pipeline) or 'kafka' (embedded Kafka only).");
        return 2;
}

static async Task WaitForStopAsync(CancellationToken token)
{
    try { await Task.Delay(Timeout.Infinite, token); }
    catch (OperationCanceledException) { }
}
