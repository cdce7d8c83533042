using System.Globalization;
using System.Text;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Confluent.Kafka;

namespace StreamPipeline.Sink.Replay;

/// <summary>What identifies a replayed record: the source record (sink dead letters) or the dead letter itself (connector ones).</summary>
internal readonly record struct RecordId(string Topic, int Partition, long Offset);

/// <summary>The <c>dead_letter_replays</c> table (migration 021): which records a replay loaded, under which token.</summary>
internal sealed class ReplayLedger(ClickHouseClient client, string database, TimeProvider time)
{
    private const int OffsetsPerQuery = 5_000;

    /// <summary>The newest state is the one with the highest <c>updated_at</c>: "done" must never tie with its "pending".</summary>
    private DateTime _lastWritten = DateTime.MinValue;

    /// <summary>The newest ledger state of each of <paramref name="ids"/> that has one.</summary>
    public async Task<Dictionary<RecordId, (string Token, bool Done)>> StatesAsync(IReadOnlyCollection<RecordId> ids, CancellationToken cancellationToken)
    {
        var states = new Dictionary<RecordId, (string, bool)>();
        foreach (var group in ids.GroupBy(i => (i.Topic, i.Partition)))
        {
            foreach (var chunk in group.Select(i => i.Offset).Chunk(OffsetsPerQuery))
            {
                var parameters = new ClickHouseParameterCollection();
                parameters.AddParameter("t", group.Key.Topic);
                parameters.AddParameter("p", (uint)group.Key.Partition);
                using var reader = await client.ExecuteReaderAsync(
                    $"SELECT record_offset, argMax(token, updated_at), argMax(done, updated_at) FROM {database}.dead_letter_replays " +
                    "WHERE record_topic = {t:String} AND record_partition = {p:UInt32} AND record_offset IN (" +
                    string.Join(',', chunk.Select(o => o.ToString(CultureInfo.InvariantCulture))) + ") GROUP BY record_offset",
                    parameters, cancellationToken: cancellationToken);
                while (reader.Read())
                {
                    var id = new RecordId(group.Key.Topic, group.Key.Partition, Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture));
                    states[id] = (reader.GetString(1), Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture) == 1);
                }
            }
        }

        return states;
    }

    /// <summary>Every record a token covers, with where its dead letter is (to re-read those outside this run's range).</summary>
    public async Task<List<(RecordId Id, TopicPartitionOffset DeadLetter)>> RecordsOfAsync(string token, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("token", token);
        var records = new List<(RecordId, TopicPartitionOffset)>();
        using var reader = await client.ExecuteReaderAsync(
            $"SELECT record_topic, record_partition, record_offset, argMax(dead_letter_topic, updated_at), argMax(dead_letter_partition, updated_at), argMax(dead_letter_offset, updated_at) " +
            $"FROM {database}.dead_letter_replays GROUP BY record_topic, record_partition, record_offset HAVING argMax(token, updated_at) = {{token:String}}",
            parameters, cancellationToken: cancellationToken);
        while (reader.Read())
        {
            var id = new RecordId(reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
            var at = new TopicPartitionOffset(reader.GetString(3), Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture));
            records.Add((id, at));
        }

        return records;
    }

    /// <summary>Writes the records' state under <paramref name="token"/>: pending before their rows, done after.</summary>
    public Task MarkAsync(IReadOnlyList<ReplayLetter> letters, string token, bool done, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        now = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc); // the column keeps milliseconds
        if (now <= _lastWritten) now = _lastWritten.AddMilliseconds(1);
        _lastWritten = now;
        var rows = new List<object[]>(letters.Count);
        foreach (var l in letters)
        {
            rows.Add([l.Id.Topic, (uint)l.Id.Partition, (ulong)l.Id.Offset, token, l.DeadLetter.Topic, (uint)l.DeadLetter.Partition.Value, (ulong)l.DeadLetter.Offset.Value, done ? (byte)1 : (byte)0, now]);
        }

        return client.InsertBinaryAsync(
            $"{database}.dead_letter_replays",
            ["record_topic", "record_partition", "record_offset", "token", "dead_letter_topic", "dead_letter_partition", "dead_letter_offset", "done", "updated_at"],
            rows, cancellationToken: cancellationToken);
    }

    /// <summary>The token of a chunk: its kind and a hash of its records, so the same records always get the same token.</summary>
    public static string Token(string kind, IEnumerable<RecordId> ids)
    {
        var text = new StringBuilder(kind);
        foreach (var id in ids.OrderBy(i => i.Topic, StringComparer.Ordinal).ThenBy(i => i.Partition).ThenBy(i => i.Offset)) text.Append(CultureInfo.InvariantCulture, $"|{id.Topic}:{id.Partition}:{id.Offset}");
        return "replay:" + kind + ":" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }
}
