using Confluent.SchemaRegistry;
using StreamPipeline.Kafka.Resilience;

namespace StreamPipeline.Kafka.Schemas;

/// <summary>Registers the services' Avro schemas (schemas/avro, the source of truth) under <c>{topic}-value</c>.</summary>
public static class SchemaRegistration
{
    /// <summary>
    /// Registers each (subject, schema) and returns their ids in order, retrying while the registry is unreachable
    /// (<paramref name="onUnavailable"/> sees each failure and the delay). A schema the registry refuses as incompatible
    /// (409) is permanent.
    /// </summary>
    /// <exception cref="IncompatibleSchemaException">The registry refused a schema as incompatible with its subject.</exception>
    public static async Task<int[]> RegisterAsync(ISchemaRegistryClient registry, string registryUrl, IReadOnlyList<(string Subject, string Schema)> schemas,
        Action<Exception, TimeSpan> onUnavailable, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var retry = Retry.Forever(IsTransient, onUnavailable, time);
        var ids = new int[schemas.Count];
        for (var i = 0; i < schemas.Count; i++)
        {
            var (subject, schema) = schemas[i];
            try
            {
                ids[i] = await retry.ExecuteAsync(async _ => await registry.RegisterSchemaAsync(subject, new Schema(schema, SchemaType.Avro)), cancellationToken);
            }
            catch (SchemaRegistryException e) when (e.Status == System.Net.HttpStatusCode.Conflict)
            {
                throw new IncompatibleSchemaException(registryUrl, subject, e);
            }
        }

        return ids;
    }

    /// <summary>Registry failures worth another try: unreachable, timed out, or a server error.</summary>
    /// <remarks>SchemaRegistryException derives from HttpRequestException, so it is told apart first: its 409 is permanent.</remarks>
    public static bool IsTransient(Exception e) => e switch
    {
        SchemaRegistryException s => (int)s.Status >= 500 || s.Status == 0,
        HttpRequestException or TaskCanceledException or TimeoutException => true,
        _ => false,
    };
}

/// <summary>The registry refused one of our schemas as incompatible with the subject's versions.</summary>
public sealed class IncompatibleSchemaException(string registryUrl, string subject, Exception inner)
    : Exception($"Schema Registry at {registryUrl} refused the schema of subject '{subject}' as incompatible ({inner.Message}). " +
                "Make the change compatible (add fields with defaults, enum symbols with a default) or fix the subject's compatibility level.", inner)
{
    public string Subject { get; } = subject;
}
