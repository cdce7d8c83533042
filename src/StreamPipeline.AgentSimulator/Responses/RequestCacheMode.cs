namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// How strong the agent's response cache is (agent-protocol.md 5.1 promises a cache but not how long it lives nor
/// when an answer enters it). The weaker modes are the weakest agent the protocol allows, for tests of the backend.
/// </summary>
public enum RequestCacheMode
{
    /// <summary>
    /// The cache lives as long as the agent (it survives reconnects); requests are handled one after another and an
    /// answer is cached as soon as it is computed, before it is sent.
    /// </summary>
    KeptAcrossReconnects = 0,

    /// <summary>
    /// "Cache lost on restart": every new connection is an agent that restarted, with an empty cache, so a request it
    /// ran before the connection dropped runs again when it is sent again. Otherwise as <see cref="KeptAcrossReconnects"/>.
    /// </summary>
    LostOnReconnect,

    /// <summary>
    /// "Cache only on completion, concurrent handling": each request is handled on its own while the agent reads on,
    /// and its answer enters the cache only once the work (<see cref="SimulatorOptions.ResponseDelay"/>) is done, so
    /// the same id arriving while the first is still running runs a second time.
    /// </summary>
    OnCompletionConcurrent,
}

/// <summary>Where the agent puts <c>"status":"error"</c> and its <c>message</c> when a request fails.</summary>
public enum ErrorReplyShape
{
    /// <summary>In the payload, as the seed shows: <c>{"type":"response",...,"payload":{"status":"error","message":"..."}}</c>.</summary>
    InPayload = 0,

    /// <summary>At the envelope's top level, with no payload: <c>{"type":"response","id":n,"action":"...","status":"error","message":"...","timestamp":...}</c>.</summary>
    TopLevel,
}
