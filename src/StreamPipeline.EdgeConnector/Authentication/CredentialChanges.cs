namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>How an agent's credential changed.</summary>
internal enum CredentialChangeKind
{
    /// <summary>The token was marked revoked.</summary>
    Revoked,
    /// <summary>A different token was issued: the old one no longer authenticates.</summary>
    Replaced,
    /// <summary>The agent's line was removed from the store.</summary>
    Removed,
}

/// <summary>One agent whose credential changed.</summary>
internal readonly record struct CredentialChange(string AgentId, CredentialChangeKind Kind);

/// <summary>
/// Credentials changed in the store. <see cref="Generation"/> is the store's version after the change: sessions that
/// authenticated against an older generation used a credential that may no longer be valid.
/// </summary>
internal sealed record CredentialChangeSet(long Generation, IReadOnlyList<CredentialChange> Changes);

/// <summary>
/// Where a credential store announces changes, so live sessions authenticated with a revoked or replaced token are
/// closed. The file <see cref="TokenStore"/> raises it when it reloads; a store fed from elsewhere (a Kafka topic of
/// credential events) implements the same interface and the sessions side does not change.
/// </summary>
internal interface ICredentialChangeFeed
{
    /// <summary>Raised after the store already answers with the new credentials. Handlers must not block.</summary>
    event Action<CredentialChangeSet>? Changed;
}
