using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Commands;

/// <summary>Where the engine's decisions go (Kafka in the service). Called under the engine's lock: must not block.</summary>
internal interface IDispatchOutput
{
    /// <summary>Sends a request to the partition of <c>connector-requests</c> that its connector reads.</summary>
    void SendRequest(ConnectorRequest request);

    /// <summary>Publishes the one terminal result; <paramref name="acknowledged"/> runs (on another thread) once Kafka answers.</summary>
    void PublishResult(CommandResult result, Action<bool, string?> acknowledged);

    /// <summary>Records a response that came for a command already decided (or unknown here).</summary>
    void PublishLate(ConnectorResponse response);
}
