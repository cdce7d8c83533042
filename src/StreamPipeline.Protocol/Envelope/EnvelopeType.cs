namespace StreamPipeline.Protocol;

/// <summary>The envelope's <c>type</c> field.</summary>
public enum EnvelopeType
{
    /// <summary>Not set (only in a default <see cref="Envelope"/>).</summary>
    Unknown = 0,
    /// <summary><c>"request"</c>: expects a response with the same id.</summary>
    Request,
    /// <summary><c>"response"</c>: answers the request with the same id.</summary>
    Response,
    /// <summary><c>"event"</c>: sent without expecting an answer, e.g. <c>metrics</c>.</summary>
    Event,
}
