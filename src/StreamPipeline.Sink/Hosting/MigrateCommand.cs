using ClickHouse.Driver;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StreamPipeline.Sink.Schema;

namespace StreamPipeline.Sink.Hosting;

/// <summary><c>dotnet run --project src/StreamPipeline.Sink -- migrate</c>: applies the ClickHouse migrations and exits.</summary>
internal static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddEnvironmentVariables("StreamPipeline__")
            .AddCommandLine(args)
            .Build();
        var sink = configuration.GetSection(SinkOptions.Section).Get<SinkOptions>() ?? new SinkOptions();
        var clickHouse = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new ClickHouseOptions();
        var errors = new List<string>(sink.Validate());
        errors.AddRange(clickHouse.Validate());
        if (errors.Count > 0)
        {
            foreach (var error in errors) await Console.Error.WriteLineAsync(error);
            return 2;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        using var client = new ClickHouseClient(clickHouse.ConnectionString);
        try
        {
            var applied = await new MigrationRunner(client, loggerFactory.CreateLogger("migrate")).ApplyAsync(MigrationSettings.From(sink, clickHouse.Cluster), CancellationToken.None);
            Console.WriteLine($"Database {sink.Database}: {applied} migrations applied, {Migration.LoadEmbedded().Count} in total.");
            return 0;
        }
        catch (Exception e) when (e is ClickHouseServerException or HttpRequestException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"Migrations failed against {client.Settings.Host}:{client.Settings.Port}: {e.Message}");
            return 1;
        }
    }
}
