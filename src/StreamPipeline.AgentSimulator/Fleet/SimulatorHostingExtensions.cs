using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>Registers the simulated fleet in a host: options from the <c>Simulator</c> section, validated at start.</summary>
public static class SimulatorHostingExtensions
{
    public static IHostApplicationBuilder AddAgentSimulator(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<SimulatorOptions>()
            .Bind(builder.Configuration.GetSection(SimulatorOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();
        builder.Services.AddHostedService<FleetHostedService>();
        return builder;
    }

    private sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
    {
        public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
        {
            var errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
