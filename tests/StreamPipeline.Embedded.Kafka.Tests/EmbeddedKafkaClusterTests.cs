using Confluent.Kafka;

namespace StreamPipeline.Embedded.Kafka.Tests;

/// <summary>The embedded cluster's own API: options, topic creation, fault injection.</summary>
public sealed class EmbeddedKafkaClusterTests
{
    [Fact]
    public void Start_InvalidBrokerCount_ErrorNamesTheSetting()
    {
        var e = Assert.Throws<ArgumentException>(() => EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 0 }));
        Assert.Contains("EmbeddedKafka:BrokerCount", e.Message);
    }

    [Fact]
    public void Start_ThreeBrokers_BootstrapListsThreeLoopbackAddresses()
    {
        using var cluster = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
        var brokers = cluster.BootstrapServers.Split(',');
        Assert.Equal(3, brokers.Length);
        Assert.All(brokers, b => Assert.StartsWith("127.0.0.1:", b));
    }

    [Fact]
    public void CreateTopic_Twice_SecondCallReportsExisting()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        Assert.True(cluster.CreateTopic("twice", 3));
        Assert.False(cluster.CreateTopic("twice", 3));
    }

    [Fact]
    public void Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var cluster = EmbeddedKafkaCluster.Start();
        cluster.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", 1));
    }

    [Fact]
    public void IdempotentProducer_BrokersDownAndInjectedErrors_NothingLostNothingDuplicated()
    {
        using var cluster = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
        const string topic = "faults";
        cluster.CreateTopic(topic, 3);
        const int total = 3000;
        var config = new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
            MessageTimeoutMs = 120_000,
            RetryBackoffMs = 50,
        };

        var failed = 0;
        using (var producer = new ProducerBuilder<Null, string>(config).Build())
        {
            for (var i = 0; i < total; i++)
            {
                if (i == 1000) cluster.SetBrokerDown(2);
                if (i == 1500) cluster.PushRequestErrors(0, ErrorCode.NotEnoughReplicas, ErrorCode.RequestTimedOut, ErrorCode.LeaderNotAvailable);
                if (i == 2000) cluster.SetBrokerUp(2);
                producer.Produce(topic, new Message<Null, string> { Value = i.ToString() }, r => { if (r.Error.IsError) Interlocked.Increment(ref failed); });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));
        }

        Assert.Equal(0, failed);
        var seen = new HashSet<int>();
        var duplicates = 0;
        using var consumer = new ConsumerBuilder<Null, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "faults-check",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (seen.Count < total && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && !seen.Add(int.Parse(r.Message.Value))) duplicates++;
        }

        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(1)));
        Assert.Equal(total, seen.Count);
        Assert.Equal(0, duplicates);
    }

    [Fact]
    public async Task MockTopicProvisioner_CreatesEachTopicWithItsPartitions()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var provisioner = new MockClusterTopicProvisioner(cluster);
        await provisioner.EnsureTopicsAsync([new("a", 2), new("b", 5)], CancellationToken.None);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var md = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.Equal(2, md.Topics.Single(t => t.Topic == "a").Partitions.Count);
        Assert.Equal(5, md.Topics.Single(t => t.Topic == "b").Partitions.Count);
    }
}
