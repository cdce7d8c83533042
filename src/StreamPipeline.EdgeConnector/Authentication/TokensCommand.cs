namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>
/// <c>tokens issue AGENT_ID</c> prints a new token once and stores only its hash;
/// <c>tokens revoke AGENT_ID</c> marks it revoked. Both act on <c>--store PATH</c> (default: EdgeConnector:TokenStorePath).
/// Running connectors pick the change up within seconds. The file store only: with
/// <c>EdgeConnector:CredentialStore=kafka</c> tokens are issued with <c>spctl tokens</c>.
/// </summary>
internal static class TokensCommand
{
    public static int Run(string[] args, string defaultStore, string? credentialStore = null)
    {
        if (string.Equals(credentialStore, EdgeConnectorOptions.KafkaStore, StringComparison.Ordinal))
        {
            Console.Error.WriteLine("StreamPipeline__EdgeConnector__CredentialStore=kafka: the connectors follow the agent-credentials topic, not a file. " +
                "Use spctl: spctl tokens issue|revoke|list|import (docs/edge-connector.md, \"Tokens\").");
            return 2;
        }

        var store = defaultStore;
        // Messages name the absolute path: "stored in data/tokens.txt" does not say which data/ folder.
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--store" && i + 1 < args.Length) store = args[++i];
            else rest.Add(args[i]);
        }

        switch (rest)
        {
            case ["issue", var agentId]:
                try
                {
                    var token = TokenStore.Issue(store, agentId);
                    Console.WriteLine(token);
                    Console.Error.WriteLine($"Token for agent '{agentId}' printed above; only its hash was stored in {Path.GetFullPath(store)}. It is not shown again.");
                    return 0;
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine(e.Message);
                    return 2;
                }

            case ["revoke", var agentId]:
                if (TokenStore.Revoke(store, agentId)) { Console.Error.WriteLine($"Token of agent '{agentId}' revoked in {store}."); return 0; }
                Console.Error.WriteLine($"Agent '{agentId}' has no token in {store}.");
                return 1;

            default:
                Console.Error.WriteLine("Usage: tokens issue AGENT_ID | tokens revoke AGENT_ID  [--store PATH]");
                return 2;
        }
    }
}
