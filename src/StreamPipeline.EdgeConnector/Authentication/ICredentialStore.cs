namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>
/// Where the connector checks agent credentials: the file <see cref="TokenStore"/> (one node) or the
/// <see cref="KafkaCredentialStore"/> every connector follows (<c>EdgeConnector:CredentialStore</c>). Both keep only
/// token hashes and announce revoked, replaced and removed tokens through <see cref="ICredentialChangeFeed"/>.
/// </summary>
internal interface ICredentialStore
{
    /// <summary>True once the store answers with every credential it has (the Kafka store: read to the end at start).</summary>
    bool IsReady { get; }

    /// <summary>Why the store is not ready, for /readyz.</summary>
    string NotReadyReason { get; }

    /// <summary>Checks a credential; <paramref name="generation"/> is the store version that answered (see <see cref="CredentialChangeSet"/>).</summary>
    TokenCheck Check(string agentId, string token, out long generation);

    /// <summary>True when the store has a credential for this agent (revoked or not).</summary>
    bool Knows(string agentId);
}
