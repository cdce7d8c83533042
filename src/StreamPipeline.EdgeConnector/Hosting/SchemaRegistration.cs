using Confluent.SchemaRegistry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Protocol;
using StreamPipeline.ServiceDefaults.Hosting;

namespace StreamPipeline.EdgeConnector.Hosting;

/// <summary>
/// Registers the Avro schemas (schemas/avro, the source of truth) under <c>{topic}-value</c> and hands their ids to
/// the publisher. Retries until the registry answers; the connector is not ready, and accepts no agent, until then.
/// An incompatible schema (409) stops the service with a message that says what to do.
/// </summary>
internal sealed partial class SchemaRegistration(
    IOptions<KafkaOptions> kafka, IOptions<EdgeConnectorOptions> options, KafkaPublisher publisher, ISchemaRegistryClient client,
    IHostApplicationLifetime lifetime, ILogger<SchemaRegistration> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var ids = await Kafka.Schemas.SchemaRegistration.RegisterAsync(client, kafka.Value.SchemaRegistryUrl,
            [
                (options.Value.MetricsTopic + "-value", AvroSchemas.MetricsSample.Json),
                (options.Value.PresenceTopic + "-value", AvroSchemas.AgentPresence.Json),
            ], (e, delay) => LogRegistryUnavailable(logger, kafka.Value.SchemaRegistryUrl, e.Message, delay.TotalSeconds), cancellationToken: stoppingToken);
            publisher.UseSchemas(ids[0], ids[1]);
            LogRegistered(logger, ids[0], ids[1]);
        }
        catch (Kafka.Schemas.IncompatibleSchemaException e)
        {
            LogIncompatible(logger, kafka.Value.SchemaRegistryUrl, e.Message);
            lifetime.StopApplication(ServiceExitCodes.FatalDependency);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Avro schemas registered: metrics id {MetricsId}, presence id {PresenceId}")]
    private static partial void LogRegistered(ILogger logger, int metricsId, int presenceId);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Schema Registry at {Url} unavailable ({Reason}); retrying in {Seconds:F1} s. Agents are refused until it answers.")]
    private static partial void LogRegistryUnavailable(ILogger logger, string url, string reason, double seconds);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Critical, Message = "Schema Registry at {Url} refused our schema as incompatible: {Reason}. Make the schema change compatible (add fields with defaults) or change the subject's compatibility level; stopping.")]
    private static partial void LogIncompatible(ILogger logger, string url, string reason);
}
