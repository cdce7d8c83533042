using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Docs;

/// <summary>Every example query of docs/clickhouse.md runs against data the sink loaded, with results that make sense.</summary>
[Collection(SinkCollection.Name)]
public sealed partial class DocumentedQueriesTests(SinkFixture fixture)
{
    private const int Agents = 6;
    private const int SamplesPerAgent = 40;

    [Fact]
    public async Task ExampleQueries_LoadedData_RunAndReturnSensibleResults()
    {
        var queries = ReadQueries();
        Assert.Equal(["agents_offline_now", "dead_letters_by_reason", "fleet_cpu_over_time", "hourly_per_agent", "interface_throughput", "top_agents_by_disk_usage"], queries.Keys.Order());
        var db = await LoadAsync();

        var fleet = await RunAsync(queries["fleet_cpu_over_time"], db);
        Assert.NotEmpty(fleet);
        Assert.Equal((ulong)(Agents * SamplesPerAgent), Sum(fleet, "samples"));
        Assert.All(fleet, row => Assert.InRange(Convert.ToDouble(row["avg_cpu"], CultureInfo.InvariantCulture), 0, 100));
        Assert.All(fleet, row => Assert.True(Convert.ToDouble(row["peak_cpu"], CultureInfo.InvariantCulture) >= Convert.ToDouble(row["avg_cpu"], CultureInfo.InvariantCulture) - 0.01));

        var disks = await RunAsync(queries["top_agents_by_disk_usage"], db);
        Assert.InRange(disks.Count, 1, 10);
        for (var i = 1; i < disks.Count; i++)
        {
            Assert.True(Convert.ToDouble(disks[i - 1]["usage_percent"], CultureInfo.InvariantCulture) >= Convert.ToDouble(disks[i]["usage_percent"], CultureInfo.InvariantCulture));
        }

        var maxUsage = await fixture.Client.ExecuteScalarAsync($"SELECT max(u) FROM (SELECT argMax(usage_percent, agent_time) AS u FROM {db}.metrics_disks GROUP BY agent_id, mountpoint)");
        Assert.Equal(Convert.ToDouble(maxUsage, CultureInfo.InvariantCulture), Convert.ToDouble(disks[0]["usage_percent"], CultureInfo.InvariantCulture));

        var offline = await RunAsync(queries["agents_offline_now"], db);
        var offlineAgents = offline.Select(r => (string)r["agent_id"]).ToHashSet();
        for (var agent = 1; agent < Agents; agent += 2) Assert.Contains(SampleData.AgentId(agent), offlineAgents);
        Assert.All(offline, row => Assert.True(!Convert.ToBoolean(row["online"], CultureInfo.InvariantCulture) || Convert.ToInt64(row["silent_seconds"], CultureInfo.InvariantCulture) >= 120));

        var throughput = await RunAsync(queries["interface_throughput"], db);
        Assert.NotEmpty(throughput);
        Assert.All(throughput, row => Assert.True(Convert.ToDouble(row["peak_total_mbps"], CultureInfo.InvariantCulture) >= 0));
        Assert.Contains(throughput, row => (string)row["name"] == "eth1");

        var hourly = await RunAsync(queries["hourly_per_agent"], db);
        Assert.Equal((ulong)(Agents * SamplesPerAgent), Sum(hourly, "samples"));
        Assert.Equal(Agents, hourly.Select(r => (string)r["agent_id"]).Distinct().Count());

        var letters = await RunAsync(queries["dead_letters_by_reason"], db);
        Assert.Equal(2, letters.Count);
        Assert.Contains(letters, r => (string)r["stage"] == "sink" && (string)r["reason"] == "bad_magic_byte" && (string)r["agent_id"] == SampleData.AgentId(0) && Convert.ToUInt64(r["letters"], CultureInfo.InvariantCulture) == 2);
        Assert.Contains(letters, r => (string)r["stage"] == "connector" && (string)r["reason"] == "wrong_type" && (string)r["agent_id"] == "agent-wrong" && Convert.ToUInt64(r["letters"], CultureInfo.InvariantCulture) == 1);
    }

    private async Task<string> LoadAsync()
    {
        var topics = await fixture.CreateTopicsAsync("docs");
        var db = fixture.Unique("docs");
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var agent = 0; agent < Agents; agent++)
            {
                for (var i = 0; i < SamplesPerAgent; i++)
                {
                    var sample = SampleData.Metrics(agent, i);
                    producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
                }

                producer.Produce(topics.Presence, new Message<string, byte[]> { Key = SampleData.AgentId(agent), Value = SampleData.Encode(SampleData.Presence(agent, 0, connected: true), topics.PresenceSchemaId) });
                if (agent % 2 == 1)
                {
                    producer.Produce(topics.Presence, new Message<string, byte[]> { Key = SampleData.AgentId(agent), Value = SampleData.Encode(SampleData.Presence(agent, 0, connected: false), topics.PresenceSchemaId) });
                }
            }

            // Dead letters of both stages: two records the sink cannot decode, one frame the connector refused.
            for (var i = 0; i < 2; i++) producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = SampleData.AgentId(0), Value = "not avro"u8.ToArray() });
            producer.Produce(topics.ConnectorDeadLetter, DeadLetters.DeadLetterIndexTests.ConnectorLetter("agent-wrong", "wrong_type", "payload.cpuUsagePercent must be a number, got string"));
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", Agents * SamplesPerAgent, TimeSpan.FromSeconds(60));
            await fixture.WaitForCountAsync($"{db}.agent_presence", Agents + (Agents / 2), TimeSpan.FromSeconds(30));
            await fixture.WaitForCountAsync($"{db}.dead_letters", 3, TimeSpan.FromSeconds(30));
        }

        return db;
    }

    private async Task<List<Dictionary<string, object>>> RunAsync(string sql, string db)
    {
        var rows = new List<Dictionary<string, object>>();
        using var reader = await fixture.Client.ExecuteReaderAsync(sql.Replace("streampipeline.", db + ".", StringComparison.Ordinal));
        while (reader.Read())
        {
            var row = new Dictionary<string, object>();
            for (var i = 0; i < reader.FieldCount; i++) row[reader.GetName(i)] = reader.GetValue(i);
            rows.Add(row);
        }

        return rows;
    }

    private static ulong Sum(List<Dictionary<string, object>> rows, string column)
    {
        ulong sum = 0;
        foreach (var row in rows) sum += Convert.ToUInt64(row[column], CultureInfo.InvariantCulture);
        return sum;
    }

    private static Dictionary<string, string> ReadQueries()
    {
        var markdown = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Docs", "clickhouse.md"));
        var queries = new Dictionary<string, string>();
        foreach (Match block in SqlBlock().Matches(markdown))
        {
            var sql = block.Groups[1].Value;
            var name = QueryName().Match(sql);
            if (name.Success) queries[name.Groups[1].Value] = sql;
        }

        return queries;
    }

    [GeneratedRegex("```sql\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();

    [GeneratedRegex("-- query: ([a-z_0-9]+)")]
    private static partial Regex QueryName();
}
