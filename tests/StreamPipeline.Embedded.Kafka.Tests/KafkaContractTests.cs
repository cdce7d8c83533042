using Confluent.Kafka;
using StreamPipeline.Testing;
using StreamPipeline.Testing.Kafka;
using Xunit.Abstractions;

namespace StreamPipeline.Embedded.Kafka.Tests;

/// <summary>
/// The Kafka behaviour the pipeline relies on, checked with the real Confluent.Kafka client against
/// whichever broker <see cref="KafkaFixture"/> runs (Testcontainers when Docker exists, the embedded mock otherwise).
/// </summary>
public sealed class KafkaContractTests(KafkaFixture kafka, ITestOutputHelper output) : IClassFixture<KafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task CreateTopic_ExplicitPartitionCount_MetadataShowsIt()
    {
        kafka.Describe(output);
        var topic = await kafka.CreateTopicAsync("partitions", 6);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));

        Assert.Equal(6, Assert.Single(metadata.Topics).Partitions.Count);
    }

    [Fact]
    public async Task ConsumerGroup_TwoConsumers_SplitPartitionsAndResumeFromCommittedOffsets()
    {
        kafka.Describe(output);
        var topic = await kafka.CreateTopicAsync("group", 4);
        const int firstBatch = 2000, secondBatch = 500;

        var group = "g-" + Guid.NewGuid().ToString("N");
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var partitionsByConsumer = new System.Collections.Concurrent.ConcurrentDictionary<int, HashSet<int>>();
        var assigned = new int[2];
        using (var cts = new CancellationTokenSource(Deadline))
        {
            var workers = Enumerable.Range(0, 2).Select(i => Task.Factory.StartNew(() =>
            {
                using var consumer = new ConsumerBuilder<string, string>(kafka.ConsumerConfig(group)).Build();
                consumer.Subscribe(topic);
                var mine = partitionsByConsumer.GetOrAdd(i, _ => []);
                while (seen.Count < firstBatch && !cts.IsCancellationRequested)
                {
                    var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    Volatile.Write(ref assigned[i], consumer.Assignment.Count);
                    if (r is null) continue;
                    lock (mine) mine.Add(r.Partition.Value);
                    seen.AddOrUpdate(r.Message.Value, 1, (_, n) => n + 1);
                    consumer.Commit(r);
                }

                consumer.Close();
            }, TaskCreationOptions.LongRunning)).ToArray();

            // Produce only once the group is stable, so the split is the group's doing and not a race.
            await Eventually.TrueAsync(
                () => Volatile.Read(ref assigned[0]) > 0 && Volatile.Read(ref assigned[1]) > 0 && assigned[0] + assigned[1] == 4,
                Deadline, "both group members to own partitions");
            await ProduceAsync(topic, 0, firstBatch);
            await Task.WhenAll(workers);
        }

        Assert.Equal(firstBatch, seen.Count);
        Assert.All(seen.Values, n => Assert.Equal(1, n));
        // Both members of the group got partitions, and no partition was owned by both.
        Assert.All(partitionsByConsumer.Values, p => Assert.NotEmpty(p));
        Assert.Empty(partitionsByConsumer[0].Intersect(partitionsByConsumer[1]));

        // A new member of the same group resumes after the committed offsets: it sees only new records.
        await ProduceAsync(topic, firstBatch, secondBatch);
        var resumed = new List<string>();
        using (var consumer = new ConsumerBuilder<string, string>(kafka.ConsumerConfig(group)).Build())
        {
            consumer.Subscribe(topic);
            var deadline = DateTime.UtcNow + Deadline;
            while (resumed.Count < secondBatch && DateTime.UtcNow < deadline)
            {
                var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (r is not null) resumed.Add(r.Message.Value);
            }

            // Nothing more arrives: no committed record was read again.
            Assert.Null(consumer.Consume(TimeSpan.FromSeconds(1)));
            consumer.Close();
        }

        Assert.Equal(Enumerable.Range(firstBatch, secondBatch).Select(i => $"v{i}").Order(), resumed.Order());
    }

    [Fact]
    public async Task Produce_KeyedByAgent_OneAgentsRecordsStayOrderedInOnePartition()
    {
        kafka.Describe(output);
        var topic = await kafka.CreateTopicAsync("ordering", 4);
        using (var producer = new ProducerBuilder<string, string>(kafka.ProducerConfig()).Build())
        {
            for (var i = 0; i < 300; i++) producer.Produce(topic, new Message<string, string> { Key = $"agent-{i % 3}", Value = i.ToString() });
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var byAgent = new Dictionary<string, List<(int Partition, int Value)>>();
        using var consumer = new ConsumerBuilder<string, string>(kafka.ConsumerConfig("o-" + Guid.NewGuid().ToString("N"))).Build();
        consumer.Subscribe(topic);
        var deadline = DateTime.UtcNow + Deadline;
        var count = 0;
        while (count < 300 && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            count++;
            if (!byAgent.TryGetValue(r.Message.Key, out var list)) byAgent[r.Message.Key] = list = [];
            list.Add((r.Partition.Value, int.Parse(r.Message.Value)));
        }

        Assert.Equal(300, count);
        foreach (var (_, records) in byAgent)
        {
            Assert.Single(records.Select(r => r.Partition).Distinct());
            Assert.Equal(records.Select(r => r.Value).Order(), records.Select(r => r.Value));
        }
    }

    private async Task ProduceAsync(string topic, int from, int count)
    {
        using var producer = new ProducerBuilder<string, string>(kafka.ProducerConfig()).Build();
        for (var i = from; i < from + count; i++)
        {
            producer.Produce(topic, new Message<string, string> { Key = $"agent-{i % 50}", Value = $"v{i}" });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        await Task.CompletedTask;
    }
}
