using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.Cli;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.Kafka.Credentials;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests.Authentication;

/// <summary>
/// Issue 11 item 5: one credential store for every connector. Two connectors follow the <c>agent-credentials</c> topic
/// (<c>EdgeConnector:CredentialStore=kafka</c>); <c>spctl tokens</c> issues, revokes, lists and imports; a revocation
/// closes the live session wherever it is. No token in the topics or the logs.
/// </summary>
public sealed class SharedCredentialStoreTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    private static readonly TimeSpan RevocationDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task SpctlIssue_AuthenticatesOnBothConnectors_RevokeClosesLiveSessionsOnBothWithinSeconds()
    {
        // Every line at every level, with exceptions and structured values: a token in any of them is found.
        var logs = new CapturedLogs(LogLevel.Trace);
        await using var one = await StartAsync(logs, LogLevel.Trace);
        await using var two = await StartAsync(logs, LogLevel.Trace);
        var prefix = "shared-" + Guid.NewGuid().ToString("N")[..6];
        string a = prefix + "-a", b = prefix + "-b", c = prefix + "-c";
        var tokenA = await IssueAsync(a);
        var tokenB = await IssueAsync(b);
        var tokenC = await IssueAsync(c);
        await KnownOnAsync([one, two], [a, b, c]);

        // One token, both connectors: A signs in on one, leaves, signs in on two.
        using (var first = await AuthenticateAsync(one, a, tokenA))
        {
            await first.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        using var liveA = await AuthenticateAsync(two, a, tokenA);
        using var liveB = await AuthenticateAsync(one, b, tokenB);
        using var liveC = await AuthenticateAsync(one, c, tokenC);

        // Each revocation reaches the connector holding the session (A on two, B on one) and closes it: 1008 with the reason.
        Assert.Equal(0, (await SpctlAsync("tokens", "revoke", a)).Code);
        var revokedA = TimeProvider.System.GetTimestamp();
        var closeA = await liveA.ReceiveCloseAsync(RevocationDeadline);
        var tookA = TimeProvider.System.GetElapsedTime(revokedA);
        Assert.Equal(0, (await SpctlAsync("tokens", "revoke", b)).Code);
        var revokedB = TimeProvider.System.GetTimestamp();
        var closeB = await liveB.ReceiveCloseAsync(RevocationDeadline);
        var tookB = TimeProvider.System.GetElapsedTime(revokedB);
        output.WriteLine($"live sessions closed {tookA.TotalSeconds:F2} s (A, on two) and {tookB.TotalSeconds:F2} s (B, on one) after spctl tokens revoke returned: {closeA.Status} '{closeA.Reason}', {closeB.Status} '{closeB.Reason}'");
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closeA.Status);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closeB.Status);
        Assert.Equal("token revoked", closeA.Reason);
        Assert.Equal("token revoked", closeB.Reason);
        Assert.Equal(WebSocketState.Open, liveC.Socket.State);

        // A revoked token is refused at login on both connectors, and both closed nothing else.
        foreach (var connector in new[] { one, two })
        {
            using var again = await RawAgent.ConnectAsync(connector);
            await again.SendAsync(RawAgent.AuthFrame(a, tokenA));
            using var reply = JsonDocument.Parse((await again.ReceiveAsync())!);
            Assert.Contains("revoked", reply.RootElement.GetProperty("message").GetString());
        }

        // A new token for C (issue again) replaces the old one everywhere: its live session is closed too.
        var tokenC2 = await IssueAsync(c);
        var closeC = await liveC.ReceiveCloseAsync(RevocationDeadline);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closeC.Status);
        Assert.StartsWith("token replaced", closeC.Reason, StringComparison.Ordinal);
        var storeTwo = two.App.Services.GetRequiredService<ICredentialStore>();
        await Eventually.TrueAsync(() => storeTwo.Check(c, tokenC2, out _) == TokenCheck.Valid, RevocationDeadline, "connector two to see C's new token");
        using (var replaced = await AuthenticateAsync(two, c, tokenC2))
        {
            Assert.Equal(WebSocketState.Open, replaced.Socket.State);
        }

        var list = await SpctlAsync("tokens", "list");
        Assert.Equal(0, list.Code);
        Assert.Matches($@"(?m)^{a}\s+revoked\s", list.Out);
        Assert.Matches($@"(?m)^{b}\s+revoked\s", list.Out);
        Assert.Matches($@"(?m)^{c}\s+active\s", list.Out);
        var revoking = await SpctlAsync("tokens", "revoke", prefix + "-nobody");
        Assert.Equal(Spctl.NotOk, revoking.Code);

        // An audit event for each issue and revoke: 4 issues, 2 revokes.
        var audit = Values(stack.ReadUntil(PipelineTopics.CredentialAudit, r => r.Count(x => x.Message.Key.StartsWith(prefix, StringComparison.Ordinal)) >= 6, TimeSpan.FromSeconds(20)), prefix);
        Assert.Equal(6, audit.Count);
        Assert.Equal(2, audit.Count(v => v.Contains("\"action\":\"revoke\"", StringComparison.Ordinal)));
        Assert.Equal(4, audit.Count(v => v.Contains("\"action\":\"issue\"", StringComparison.Ordinal)));
        var credentials = Values(stack.ReadUntil(PipelineTopics.Credentials, r => r.Count(x => x.Message.Key.StartsWith(prefix, StringComparison.Ordinal)) >= 6, TimeSpan.FromSeconds(20)), prefix);
        Assert.Contains(credentials, v => v.Contains(AgentTokens.HashText(tokenC2), StringComparison.Ordinal));

        // Hashes at rest, never tokens: not in any byte (key, value, header) of any record of either topic, not in the
        // list, not in any log line of either connector.
        string[] tokens = [tokenA, tokenB, tokenC, tokenC2];
        foreach (var topic in new[] { PipelineTopics.Credentials, PipelineTopics.CredentialAudit })
        {
            var bytes = AllRecordBytes(topic);
            Assert.True(bytes.Count >= 6, $"{topic}: {bytes.Count} records");
            foreach (var token in tokens)
            {
                var needle = Encoding.UTF8.GetBytes(token);
                Assert.False(bytes.Any(r => r.AsSpan().IndexOf(needle) >= 0), $"a plaintext token is in a record of {topic}");
            }
        }

        AssertNoToken(tokens, [list.Out, list.Err], "spctl tokens list");
        Assert.DoesNotContain("sha256:", list.Out, StringComparison.Ordinal);
        var lines = logs.Lines.Select(l => l.Message).ToList();
        Assert.Contains(lines, l => l.Contains("tokens revoked, replaced or removed", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Level <= LogLevel.Debug);
        AssertNoToken(tokens, lines, "the connectors' logs");
    }

    [Fact]
    public async Task SpctlImport_CsvOfAgents_TokensPrintedOnceAndAConnectorStartedLaterKnowsThemAllWhenReady()
    {
        const int n = 300;
        var prefix = "fleet-" + Guid.NewGuid().ToString("N")[..6];
        var csv = Path.Combine(Directory.CreateTempSubdirectory("sp-import-").FullName, "fleet.csv");
        await File.WriteAllLinesAsync(csv, ["agent_id,hostname", .. Enumerable.Range(1, n).Select(i => $"{prefix}-{i:D4},host-{i}.example")]);
        await using var early = await StartAsync();

        var import = await SpctlAsync("tokens", "import", csv, "--actor", "provisioning-job");

        Assert.Equal(0, import.Code);
        var issued = import.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => l.Split(',')).ToList();
        Assert.Equal(n, issued.Count);
        Assert.All(issued, p => Assert.Equal(43, p[1].Length));
        Assert.Equal(n, issued.Select(p => p[1]).Distinct().Count());

        // A connector started after the import reads the whole store before it is ready, and knows every agent at once.
        var logs = new CapturedLogs();
        await using var late = await StartAsync(logs);
        var store = late.App.Services.GetRequiredService<ICredentialStore>();
        Assert.All(issued, p => Assert.Equal(TokenCheck.Valid, store.Check(p[0], p[1], out _)));
        foreach (var p in new[] { issued[0], issued[n / 2], issued[^1] })
        {
            using var agent = await AuthenticateAsync(late, p[0], p[1]);
        }

        await KnownOnAsync([early], [issued[^1][0]]);
        var earlyStore = early.App.Services.GetRequiredService<ICredentialStore>();
        Assert.Equal(TokenCheck.Valid, earlyStore.Check(issued[^1][0], issued[^1][1], out _));

        // Importing again issues nothing (every agent already has an active token); a broken CSV issues nothing at all.
        var again = await SpctlAsync("tokens", "import", csv);
        Assert.Equal(0, again.Code);
        Assert.Equal("", again.Out.Trim());
        Assert.Contains($"{n} agents skipped", again.Err);
        var broken = Path.ChangeExtension(csv, ".broken.csv");
        await File.WriteAllLinesAsync(broken, [prefix + "-new-1", prefix + "-new-1", "bad id"]);
        var refused = await SpctlAsync("tokens", "import", broken);
        Assert.Equal(Spctl.Usage, refused.Code);
        Assert.Contains("repeats line 1", refused.Err);
        Assert.Contains("line 3", refused.Err);
        Assert.False(store.Knows(prefix + "-new-1"));

        var list = await SpctlAsync("tokens", "list", "--status", "active");
        Assert.Equal(n, list.Out.Split('\n').Count(l => l.StartsWith(prefix, StringComparison.Ordinal)));
        var tokens = issued.Select(p => p[1]).ToArray();
        AssertNoToken(tokens, [list.Out, list.Err, again.Out, again.Err], "spctl output after the import");
        AssertNoToken(tokens, logs.Lines.Select(l => l.Message), "the connector's logs");
        var audit = Values(stack.ReadUntil(PipelineTopics.CredentialAudit, r => r.Count(x => x.Message.Key.StartsWith(prefix, StringComparison.Ordinal)) >= n, TimeSpan.FromSeconds(30)), prefix);
        Assert.Equal(n, audit.Count);
        Assert.All(audit, v => Assert.Contains("\"actor\":\"provisioning-job\"", v, StringComparison.Ordinal));
        AssertNoToken(tokens, audit, "credential-audit");
    }

    [Fact]
    public void Options_UnknownCredentialStore_ErrorNamesTheSetting()
    {
        var options = new EdgeConnectorOptions { CredentialStore = "vault", CertificatePath = "x.crt", CertificateKeyPath = "x.key", GenerateDevelopmentCertificate = true };

        var errors = options.Validate();

        var error = Assert.Single(errors);
        Assert.Contains("EdgeConnector:CredentialStore", error);
        Assert.Contains("'kafka'", error);
        Assert.Empty(new EdgeConnectorOptions { CredentialStore = "kafka", TokenStorePath = "", CertificatePath = "x.crt", CertificateKeyPath = "x.key", GenerateDevelopmentCertificate = true }.Validate());
    }

    private async Task<ConnectorHost> StartAsync(CapturedLogs? logs = null, LogLevel level = LogLevel.Information)
    {
        var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, agents: 0, logs: logs, settings: new Dictionary<string, string?>
        {
            ["EdgeConnector:CredentialStore"] = "kafka",
            ["Logging:LogLevel:Default"] = level.ToString(),
        });
        var store = connector.App.Services.GetRequiredService<ICredentialStore>();
        Assert.IsType<KafkaCredentialStore>(store);
        await Eventually.TrueAsync(() => store.IsReady, TimeSpan.FromSeconds(30), "the connector to read its credential store to the end");
        return connector;
    }

    private async Task<string> IssueAsync(string agentId)
    {
        var (code, stdout, stderr) = await SpctlAsync("tokens", "issue", agentId);
        Assert.True(code == 0, $"spctl tokens issue: exit {code}: {stderr}");
        var token = stdout.Trim();
        Assert.Equal(43, token.Length);
        Assert.DoesNotContain(token, stderr, StringComparison.Ordinal);
        return token;
    }

    private async Task<(int Code, string Out, string Err)> SpctlAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await Spctl.RunAsync([.. args, "--bootstrap", stack.Kafka.BootstrapServers, "--registry", stack.Registry.Url.ToString()], stdout, stderr, TextReader.Null, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static async Task KnownOnAsync(ConnectorHost[] connectors, string[] agentIds)
    {
        foreach (var connector in connectors)
        {
            var store = connector.App.Services.GetRequiredService<ICredentialStore>();
            await Eventually.TrueAsync(() => agentIds.All(store.Knows), TimeSpan.FromSeconds(10), $"connector {connector.ConnectorId} to see the issued tokens");
        }
    }

    private static async Task<RawAgent> AuthenticateAsync(ConnectorHost connector, string agentId, string token)
    {
        var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame(agentId, token));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);
        Assert.True(reply.RootElement.GetProperty("status").GetString() == "ok", $"{agentId} on {connector.ConnectorId}: {reply.RootElement}");
        return agent;
    }

    private static List<string> Values(List<ConsumeResult<string, byte[]>> read, string prefix) =>
        read.Where(r => r.Message.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(r => Encoding.UTF8.GetString(r.Message.Value)).ToList();

    /// <summary>Every record of the topic as it is stored: key, value and each header's name and value, one byte array per record.</summary>
    private List<byte[]> AllRecordBytes(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = stack.Kafka.BootstrapServers,
            GroupId = "raw-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.Kafka.BootstrapServers }).Build();
        var ends = new Dictionary<int, long>();
        foreach (var p in admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10));
            if (w.High > w.Low) ends[p.PartitionId] = w.High.Value;
        }

        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<byte[]>();
        var started = TimeProvider.System.GetTimestamp();
        while (ends.Count > 0 && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            var all = new List<byte>();
            all.AddRange(r.Message.Key ?? []);
            all.AddRange(r.Message.Value ?? []);
            foreach (var h in r.Message.Headers ?? [])
            {
                all.AddRange(Encoding.UTF8.GetBytes(h.Key));
                all.AddRange(h.GetValueBytes() ?? []);
            }

            records.Add([.. all]);
            if (r.Offset.Value + 1 >= ends[r.Partition.Value]) ends.Remove(r.Partition.Value);
        }

        Assert.True(ends.Count == 0, $"{topic}: not read to its end in 30 s");
        return records;
    }

    private static void AssertNoToken(IEnumerable<string> tokens, IEnumerable<string> texts, string where)
    {
        var all = texts.ToList();
        foreach (var token in tokens)
        {
            Assert.False(all.Any(t => t.Contains(token, StringComparison.Ordinal)), $"a plaintext token is in {where}");
        }
    }
}
