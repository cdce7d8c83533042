using Confluent.Kafka;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Kafka.Credentials;

/// <summary>Who changes credentials, for the audit events: the person, the tool and the machine.</summary>
public sealed record AuditContext(string Actor, string Tool, string Host);

/// <summary>A token issued to an agent. The token exists only here: the topic holds its hash.</summary>
public sealed record IssuedToken(string AgentId, string Token);

/// <summary>What a revoke did.</summary>
public enum RevokeOutcome { Revoked, UnknownAgent, AlreadyRevoked }

/// <summary>
/// Issues, revokes and lists agent credentials on the shared store every connector follows (the compacted
/// <c>agent-credentials</c> topic, keyed by agent id; see <see cref="CredentialRecord"/>), and writes an audit event
/// to <c>credential-audit</c> for every issue and revoke. The audit events of a change are acknowledged by Kafka
/// before its credential records are written, so no credential changes without its audit event.
/// </summary>
public sealed class CredentialTopicClient(KafkaOptions kafka, string credentialsTopic, string auditTopic, TimeProvider time)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Every agent's credential, read from the start of the topic to its end as of now.</summary>
    public Dictionary<string, CredentialRecord> ReadAll(CancellationToken ct)
    {
        var config = kafka.ConsumerConfig("spctl-tokens-" + Guid.NewGuid().ToString("N"), "spctl-tokens");
        config.SocketTimeoutMs = 10_000;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var partitions = TopicPartitions.PartitionCount(consumer.Handle, credentialsTopic);
        var ends = new Dictionary<TopicPartition, long>();
        for (var p = 0; p < partitions; p++)
        {
            var tp = new TopicPartition(credentialsTopic, p);
            var w = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
            if (w.High.Value > w.Low.Value) ends[tp] = w.High.Value;
        }

        var records = new Dictionary<string, CredentialRecord>(StringComparer.Ordinal);
        consumer.Assign(ends.Keys.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var started = time.GetTimestamp();
        while (ends.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            if (time.GetElapsedTime(started) > ReadTimeout)
                throw new KafkaException(new Error(ErrorCode.RequestTimedOut, $"reading '{credentialsTopic}' to its end took more than {ReadTimeout.TotalSeconds:F0} s"));
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr is null)
            {
                // A partition whose last offsets hold no record (compacted away) is read once the position passes its end.
                foreach (var tp in ends.Keys.ToList())
                {
                    if (consumer.Position(tp).Value >= ends[tp]) ends.Remove(tp);
                }

                continue;
            }

            Apply(records, cr.Message.Key, cr.Message.Value);
            if (ends.TryGetValue(cr.TopicPartition, out var end) && cr.Offset.Value + 1 >= end) ends.Remove(cr.TopicPartition);
        }

        consumer.Close();
        return records;
    }

    /// <summary>Folds one record into the table; records that do not parse are skipped (the connectors skip them too).</summary>
    public static void Apply(Dictionary<string, CredentialRecord> records, byte[]? key, byte[]? value)
    {
        if (key is null || key.Length == 0) return;
        var agentId = System.Text.Encoding.UTF8.GetString(key);
        if (value is null) records.Remove(agentId);
        else if (CredentialRecord.TryParse(value, out var record, out _)) records[agentId] = record;
    }

    /// <summary>
    /// A new token for each agent (replacing any token it had: the old one stops working and its live session is
    /// closed). Audit events first, then the hashes; throws <see cref="KafkaException"/> when Kafka did not take them.
    /// </summary>
    public async Task<IReadOnlyList<IssuedToken>> IssueAsync(IReadOnlyList<string> agentIds, AuditContext who, CancellationToken ct)
    {
        foreach (var id in agentIds)
        {
            if (AgentTokens.AgentIdProblem(id) is { } problem) throw new ArgumentException(problem, nameof(agentIds));
        }

        EnsureTopics();
        var issued = agentIds.Select(id => new IssuedToken(id, AgentTokens.NewToken())).ToList();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var producer = Producer();
        await ProduceAllAsync(producer, auditTopic, issued.Select(t => (t.AgentId, (byte[]?)Audit(CredentialAuditEvent.Issue, t.AgentId, who, now).ToBytes())), ct);
        await ProduceAllAsync(producer, credentialsTopic, issued.Select(t => (t.AgentId, (byte[]?)new CredentialRecord(AgentTokens.HashText(t.Token), CredentialStatus.Active, now).ToBytes())), ct);
        return issued;
    }

    /// <summary>Marks an agent's token revoked (its live sessions on every connector are closed within seconds).</summary>
    public async Task<RevokeOutcome> RevokeAsync(string agentId, AuditContext who, CancellationToken ct)
    {
        EnsureTopics();
        var current = ReadAll(ct);
        if (!current.TryGetValue(agentId, out var record)) return RevokeOutcome.UnknownAgent;
        if (record.Status == CredentialStatus.Revoked) return RevokeOutcome.AlreadyRevoked;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var producer = Producer();
        await ProduceAllAsync(producer, auditTopic, [(agentId, Audit(CredentialAuditEvent.Revoke, agentId, who, now).ToBytes())], ct);
        await ProduceAllAsync(producer, credentialsTopic, [(agentId, (record with { Status = CredentialStatus.Revoked, ChangedMs = now }).ToBytes())], ct);
        return RevokeOutcome.Revoked;
    }

    /// <summary>Both topics exist (a record to a missing topic would wait out the delivery timeout); throws <see cref="TopicMissingException"/>.</summary>
    private void EnsureTopics()
    {
        var admin = kafka.AdminConfig("spctl-tokens");
        TopicPartitions.PartitionCount(admin, credentialsTopic);
        TopicPartitions.PartitionCount(admin, auditTopic);
    }

    private IProducer<byte[], byte[]?> Producer()
    {
        var config = kafka.ProducerConfig("spctl-tokens");
        config.MessageTimeoutMs = 30_000; // an operator waits: fail in 30 s, not librdkafka's 5 minutes
        return new ProducerBuilder<byte[], byte[]?>(config).Build();
    }

    private static CredentialAuditEvent Audit(string action, string agentId, AuditContext who, long now) =>
        new(Guid.NewGuid().ToString("N"), action, agentId, who.Actor, who.Tool, who.Host, now);

    /// <summary>Produces every record and waits until Kafka acknowledged them all; throws on the first refusal.</summary>
    private static async Task ProduceAllAsync(IProducer<byte[], byte[]?> producer, string topic, IEnumerable<(string AgentId, byte[]? Value)> records, CancellationToken ct)
    {
        var failures = 0;
        Error? first = null;
        var pending = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Done(DeliveryReport<byte[], byte[]?> report)
        {
            if (report.Error.IsError && Interlocked.Increment(ref failures) == 1) first = report.Error;
            if (Interlocked.Decrement(ref pending) == 0) all.TrySetResult();
        }

        Interlocked.Increment(ref pending); // held until every record is handed over
        foreach (var (agentId, value) in records)
        {
            Interlocked.Increment(ref pending);
            while (true)
            {
                try
                {
                    producer.Produce(topic, new Message<byte[], byte[]?> { Key = CredentialRecord.Key(agentId), Value = value }, Done);
                    break;
                }
                catch (ProduceException<byte[], byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(100));
                }
            }
        }

        if (Interlocked.Decrement(ref pending) == 0) all.TrySetResult();
        while (!all.Task.IsCompleted)
        {
            ct.ThrowIfCancellationRequested();
            producer.Flush(TimeSpan.FromMilliseconds(200));
        }

        await all.Task;
        if (failures > 0) throw new KafkaException(new Error(first!.Code, $"{failures} records to '{topic}' were not acknowledged: {first.Reason}"));
    }
}
