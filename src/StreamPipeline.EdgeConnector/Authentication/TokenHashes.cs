namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>Token store lines, for tools that provision agents (the local run, load harnesses).</summary>
public static class TokenHashes
{
    /// <summary>The token store line of an agent: <c>agent_id sha256:HEX</c>. The token itself is not in it.</summary>
    public static string Line(string agentId, string token) => TokenStore.HashLine(agentId, token);
}
