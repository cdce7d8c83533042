using StreamPipeline.Kafka.Credentials;

namespace StreamPipeline.Cli.Commands;

/// <summary>
/// <c>spctl tokens issue | revoke | list | import</c>: agent tokens in the Kafka credential store that every connector
/// with <c>EdgeConnector:CredentialStore=kafka</c> follows (docs/edge-connector.md, "Tokens"). Tokens are printed once,
/// at issue and import, and stored nowhere: the topic holds their SHA-256. Every issue and revoke writes an audit event
/// (who, what, when, which agent) first.
/// </summary>
internal static class TokensCommand
{
    public const string Usage = """
        spctl tokens issue AGENT_ID [--actor NAME]      a new token for the agent, printed once (replaces any token it had)
        spctl tokens revoke AGENT_ID [--actor NAME]     the agent's token stops working; its live session is closed
        spctl tokens list [--status active|revoked]     agent ids and status (never tokens or hashes)
        spctl tokens import FILE.csv|- [--replace] [--actor NAME]
                                                      a token for every agent id in the CSV's first column (a header
                                                      'agent_id' is skipped), printed once as 'agent_id,token' lines;
                                                      agents that already have an active token are skipped unless --replace
          --credentials-topic NAME (default agent-credentials), --audit-topic NAME (default credential-audit)
        """;

    public static async Task<int> RunAsync(CliSettings s, TextWriter stdout, TextWriter stderr, TextReader stdin, CancellationToken ct)
    {
        var client = new CredentialTopicClient(s.Kafka, s.CredentialsTopic, s.AuditTopic, TimeProvider.System);
        switch (s.Arguments)
        {
            case ["issue", var agentId]:
                return await IssueAsync(client, s, agentId, stdout, stderr, ct);
            case ["revoke", var agentId]:
                return await RevokeAsync(client, s, agentId, stderr, ct);
            case ["list"]:
                return await ListAsync(client, s, stdout, stderr, ct);
            case ["import", var file]:
                return await ImportAsync(client, s, file, stdout, stderr, stdin, ct);
            default:
                await stderr.WriteLineAsync($"spctl: usage:\n{Usage}");
                return Spctl.Usage;
        }
    }

    private static AuditContext Who(CliSettings s, string verb)
    {
        var actor = s.Get("actor") ?? Environment.GetEnvironmentVariable("SUDO_USER") ?? Environment.GetEnvironmentVariable("USER") ?? Environment.UserName;
        return new AuditContext(actor, "spctl tokens " + verb, Environment.MachineName);
    }

    private static async Task<int> IssueAsync(CredentialTopicClient client, CliSettings s, string agentId, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (AgentTokens.AgentIdProblem(agentId) is { } problem)
        {
            await stderr.WriteLineAsync("spctl: " + problem);
            return Spctl.Usage;
        }

        var issued = await client.IssueAsync([agentId], Who(s, "issue"), ct);
        await stdout.WriteLineAsync(issued[0].Token);
        await stderr.WriteLineAsync(
            $"Token for agent '{agentId}' printed above; it is not shown again. Only its hash was stored in topic '{s.CredentialsTopic}' at {s.BootstrapServers}: " +
            "every connector with EdgeConnector:CredentialStore=kafka accepts it within seconds.");
        return Spctl.Ok;
    }

    private static async Task<int> RevokeAsync(CredentialTopicClient client, CliSettings s, string agentId, TextWriter stderr, CancellationToken ct)
    {
        switch (await client.RevokeAsync(agentId, Who(s, "revoke"), ct))
        {
            case RevokeOutcome.Revoked:
                await stderr.WriteLineAsync($"Token of agent '{agentId}' revoked in topic '{s.CredentialsTopic}': every connector closes its live session within seconds.");
                return Spctl.Ok;
            case RevokeOutcome.AlreadyRevoked:
                await stderr.WriteLineAsync($"Token of agent '{agentId}' was already revoked.");
                return Spctl.Ok;
            default:
                await stderr.WriteLineAsync($"Agent '{agentId}' has no token in topic '{s.CredentialsTopic}'.");
                return Spctl.NotOk;
        }
    }

    private static async Task<int> ListAsync(CredentialTopicClient client, CliSettings s, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var status = s.Get("status");
        if (status is not (null or "active" or "revoked"))
        {
            await stderr.WriteLineAsync($"spctl: --status must be 'active' or 'revoked', got '{status}'");
            return Spctl.Usage;
        }

        var all = client.ReadAll(ct);
        var active = all.Values.Count(r => r.Status == CredentialStatus.Active);
        await stdout.WriteLineAsync($"{"AGENT",-40} {"STATUS",-8} CHANGED (UTC)");
        foreach (var (agentId, record) in all.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var text = record.Status == CredentialStatus.Active ? "active" : "revoked";
            if (status is not null && status != text) continue;
            await stdout.WriteLineAsync($"{agentId,-40} {text,-8} {DateTimeOffset.FromUnixTimeMilliseconds(record.ChangedMs).UtcDateTime:yyyy-MM-dd HH:mm:ss}");
        }

        await stdout.WriteLineAsync($"{all.Count} agents: {active} active, {all.Count - active} revoked");
        return Spctl.Ok;
    }

    private static async Task<int> ImportAsync(CredentialTopicClient client, CliSettings s, string file, TextWriter stdout, TextWriter stderr, TextReader stdin, CancellationToken ct)
    {
        string text;
        try
        {
            text = file == "-" ? await stdin.ReadToEndAsync(ct) : await File.ReadAllTextAsync(Path.GetFullPath(file), ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"spctl: cannot read {Path.GetFullPath(file)}: {e.Message}");
            return Spctl.Usage;
        }

        if (!TryParseCsv(text, out var agentIds, out var error))
        {
            await stderr.WriteLineAsync($"spctl: {(file == "-" ? "standard input" : Path.GetFullPath(file))}: {error}; nothing was issued.");
            return Spctl.Usage;
        }

        var skipped = 0;
        if (!s.Has("replace"))
        {
            var existing = client.ReadAll(ct);
            var before = agentIds.Count;
            agentIds = agentIds.Where(id => !(existing.TryGetValue(id, out var r) && r.Status == CredentialStatus.Active)).ToList();
            skipped = before - agentIds.Count;
        }

        var issued = agentIds.Count == 0 ? [] : await client.IssueAsync(agentIds, Who(s, "import"), ct);
        foreach (var t in issued) await stdout.WriteLineAsync($"{t.AgentId},{t.Token}");
        await stderr.WriteLineAsync(
            $"{issued.Count} tokens issued, printed above as agent_id,token: they are not shown again (only their hashes are in topic '{s.CredentialsTopic}'). " +
            (skipped > 0 ? $"{skipped} agents skipped: they already have an active token (--replace issues new ones and closes their sessions)." : ""));
        return Spctl.Ok;
    }

    /// <summary>Agent ids from the first column; a first line 'agent_id' is a header; '#' lines and blank lines are skipped.</summary>
    internal static bool TryParseCsv(string text, out List<string> agentIds, out string error)
    {
        agentIds = [];
        error = "";
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<string>();
        var lineNumber = 0;
        var first = true;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var field = line.Split(',')[0].Trim().Trim('"');
            if (first && string.Equals(field, "agent_id", StringComparison.OrdinalIgnoreCase))
            {
                first = false;
                continue;
            }

            first = false;
            if (AgentTokens.AgentIdProblem(field) is { } problem) problems.Add($"line {lineNumber}: {problem}");
            else if (seen.TryGetValue(field, out var earlier)) problems.Add($"line {lineNumber}: agent id '{field}' repeats line {earlier}");
            else
            {
                seen[field] = lineNumber;
                agentIds.Add(field);
            }

            if (problems.Count >= 10) break;
        }

        if (problems.Count > 0)
        {
            error = string.Join("; ", problems);
            return false;
        }

        if (agentIds.Count == 0)
        {
            error = "no agent ids (expected one per line in the first column, optionally under a header 'agent_id')";
            return false;
        }

        return true;
    }
}
