namespace StreamPipeline.AgentSimulator.Agent;

/// <summary>Where a simulated agent is in its life.</summary>
public enum AgentState
{
    /// <summary>Not started yet (waiting for its slot in the connect ramp).</summary>
    Idle = 0,

    /// <summary>Opening TCP, TLS and the WebSocket.</summary>
    Connecting,

    /// <summary>Socket open, authenticate request sent, waiting for the reply.</summary>
    Authenticating,

    /// <summary>Authenticated: streaming metrics and answering requests.</summary>
    Authenticated,

    /// <summary>Socket open without authenticating (the <c>NeverAuthenticate</c> and <c>MetricsBeforeAuthentication</c> modes).</summary>
    ConnectedUnauthenticated,

    /// <summary>Between connections, in its reconnect backoff.</summary>
    WaitingToReconnect,

    /// <summary>Stopped: the fleet stopped, or its token was revoked.</summary>
    Stopped,
}
