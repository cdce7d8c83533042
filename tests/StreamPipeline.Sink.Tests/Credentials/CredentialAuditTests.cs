using Confluent.Kafka;
using StreamPipeline.Cli;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Credentials;

/// <summary>
/// Issue 11 item 5: every issue and revoke of an agent token is an audit event that lands in ClickHouse. spctl tokens
/// writes the events to <c>credential-audit</c>; the sink loads them into <c>credential_audit</c> exactly once, a crash
/// and replay included. Neither the table nor the sink's log holds a token.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class CredentialAuditTests(SinkFixture fixture)
{
    private const short OffsetCommitApiKey = 8;

    [Fact]
    public async Task SpctlIssueImportRevoke_SinkKilledBeforeCommitting_EveryEventInCredentialAuditOnceWithNoToken()
    {
        var topics = await fixture.CreateTopicsAsync("audit", metricsPartitions: 1, presencePartitions: 1);
        var credentialsTopic = fixture.Unique("audit-credentials");
        fixture.Kafka.CreateTopic(credentialsTopic, 2);
        var db = fixture.Unique("audit");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:CreateDeadLetterTopic"] = "false";
        settings["Sink:BatchMaxRows"] = "7";
        settings["Logging:LogLevel:Default"] = "Debug";
        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        var csv = Path.Combine(Directory.CreateTempSubdirectory("sp-audit-").FullName, "fleet.csv");
        await File.WriteAllLinesAsync(csv, ["agent_id", .. Enumerable.Range(1, 25).Select(i => $"fleet-{i:D3}")]);
        var tokens = new List<string>();

        var sink = SinkProcess.Start(settings, logPath);
        try
        {
            await sink.Assigned.WaitAsync(TimeSpan.FromSeconds(60));
            // Nothing is ever committed: the next sink replays every recorded range.
            fixture.Kafka.PushRequestErrors(OffsetCommitApiKey, Enumerable.Repeat(ErrorCode.InvalidCommitOffsetSize, 5_000).ToArray());
            foreach (var agent in new[] { "web-1", "web-2", "web-3" })
            {
                tokens.Add((await SpctlAsync(topics, credentialsTopic, "tokens", "issue", agent, "--actor", "alice")).Trim());
            }

            tokens.AddRange((await SpctlAsync(topics, credentialsTopic, "tokens", "import", csv, "--actor", "provisioning")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')[1].Trim()));
            await SpctlAsync(topics, credentialsTopic, "tokens", "revoke", "web-1", "--actor", "bob");
            await SpctlAsync(topics, credentialsTopic, "tokens", "revoke", "fleet-007", "--actor", "bob");
            // Not an audit event: set aside as a dead letter, never a row.
            using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = fixture.Kafka.BootstrapServers }).Build())
            {
                await producer.ProduceAsync(topics.CredentialAudit, new Message<string, byte[]> { Key = "web-9", Value = "not json"u8.ToArray() });
            }

            await fixture.WaitForCountAsync($"{db}.credential_audit", 30, TimeSpan.FromSeconds(60));
            sink.Kill();
        }
        finally
        {
            fixture.Kafka.ClearRequestErrors(OffsetCommitApiKey);
            sink.Dispose();
        }

        using (SinkProcess.Start(settings, logPath))
        {
            // A marker after the replayed ranges: once it is in, the replay is done.
            await SpctlAsync(topics, credentialsTopic, "tokens", "revoke", "web-2", "--actor", "marker");
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE actor = 'marker'"), n => n == 1, TimeSpan.FromSeconds(90), "the marker in credential_audit");
        }

        Assert.Equal(28, tokens.Count);
        Assert.Equal(31ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit"));
        Assert.Equal(31ul, await fixture.CountAsync($"SELECT uniqExact(event_id) FROM {db}.credential_audit"));
        Assert.Equal(31ul, await fixture.CountAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM {db}.credential_audit"));
        Assert.Equal(28ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE action = 'issue'"));
        Assert.Equal(3ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE action = 'revoke'"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE action = 'revoke' AND agent_id = 'fleet-007' AND actor = 'bob' AND tool = 'spctl tokens revoke' AND host != ''"));
        Assert.Equal(25ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE actor = 'provisioning' AND tool = 'spctl tokens import'"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.credential_audit WHERE abs(dateDiff('second', event_time, now64(3))) > 600"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE stage = 'sink' AND reason = 'invalid_json' AND agent_id = 'web-9' AND source_topic = '{topics.CredentialAudit}'"));

        // No token at rest: not in any column of the table, not in the sink's log.
        var rows = new List<string>();
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT concat(event_id, ' ', action, ' ', agent_id, ' ', actor, ' ', tool, ' ', host) FROM {db}.credential_audit"))
        {
            while (reader.Read()) rows.Add(reader.GetString(0));
        }

        Assert.Equal(31, rows.Count);
        var log = await File.ReadAllTextAsync(logPath);
        Assert.Contains("dead-lettered (invalid_json)", log, StringComparison.Ordinal);
        foreach (var token in tokens)
        {
            Assert.Equal(43, token.Length);
            Assert.DoesNotContain(rows, r => r.Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        }
    }

    private async Task<string> SpctlAsync(TestTopics topics, string credentialsTopic, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await Spctl.RunAsync(
            [.. args, "--bootstrap", fixture.Kafka.BootstrapServers, "--registry", fixture.Registry.Url.ToString(), "--credentials-topic", credentialsTopic, "--audit-topic", topics.CredentialAudit],
            stdout, stderr, TextReader.Null, CancellationToken.None);
        Assert.True(code == Spctl.Ok, $"spctl {string.Join(' ', args)}: exit {code}: {stderr}");
        return stdout.ToString();
    }
}
