using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>Runs a fleet for the CLI: starts it, logs a stats line every <see cref="SimulatorOptions.StatsInterval"/>, stops it with the host.</summary>
internal sealed class FleetHostedService(IOptions<SimulatorOptions> options, ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<FleetHostedService>();
    private SimulatedFleet? _fleet;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_fleet is not null)
        {
            await _fleet.StopAsync();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _fleet = SimulatedFleet.Start(options.Value, loggerFactory);
        using var timer = new PeriodicTimer(options.Value.StatsInterval, options.Value.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                FleetLog.Stats(_logger, _fleet.Stats);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
