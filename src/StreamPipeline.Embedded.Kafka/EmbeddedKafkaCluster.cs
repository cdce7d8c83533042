using System.Runtime.InteropServices;
using Confluent.Kafka;
using StreamPipeline.Embedded.Kafka.Native;

namespace StreamPipeline.Embedded.Kafka;

/// <summary>
/// An in-memory Kafka cluster: librdkafka's mock cluster, a real Kafka wire-protocol broker on 127.0.0.1
/// ports that any Kafka client, in this process or another, can use.
/// </summary>
/// <remarks>
/// Limits users must know (see docs/embedded.md): every partition keeps only about 5 MiB and evicts older
/// batches silently; there is no compaction and no topic configuration; transactions are not isolated or
/// fenced; topics must be created through <see cref="CreateTopic"/> (the mock refuses the AdminClient's
/// CreateTopics), and a topic a client asks for that does not exist is auto-created with 4 partitions.
/// Everything is gone when the cluster is disposed or its process exits.
/// </remarks>
public sealed class EmbeddedKafkaCluster : IDisposable
{
    private readonly Lock _lock = new();
    private IntPtr _rk;
    private IntPtr _cluster;

    private EmbeddedKafkaCluster(IntPtr rk, IntPtr cluster, int brokerCount, string bootstrapServers)
    {
        _rk = rk;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>Comma-separated <c>host:port</c> list of the mock brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; broker ids run from 1 to this number.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster with the given options.</summary>
    public static EmbeddedKafkaCluster Start(EmbeddedKafkaOptions? options = null)
    {
        options ??= new EmbeddedKafkaOptions();
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException("Invalid embedded Kafka options: " + string.Join(" ", errors), nameof(options));

        LibRdKafka.EnsureResolver();
        var rk = CreateHandle();
        var cluster = LibRdKafka.rd_kafka_mock_cluster_new(rk, options.BrokerCount);
        if (cluster == IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_destroy(rk);
            throw new InvalidOperationException(
                $"librdkafka could not start a mock cluster of {options.BrokerCount} brokers (rd_kafka_mock_cluster_new returned NULL). " +
                "Check that 127.0.0.1 has free ephemeral ports.");
        }

        // Without a controller every AdminClient call that needs one hangs for 5 s and then fails.
        _ = LibRdKafka.rd_kafka_mock_set_controller_id(cluster, 1);
        LibRdKafka.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, (int)options.InitialRebalanceDelay.TotalMilliseconds);
        var bootstraps = Marshal.PtrToStringUTF8(LibRdKafka.rd_kafka_mock_cluster_bootstraps(cluster)) ?? "";
        return new EmbeddedKafkaCluster(rk, cluster, options.BrokerCount, bootstraps);
    }

    /// <summary>Creates a topic with an explicit partition count; an existing topic is left as it is.</summary>
    /// <returns>True when the topic was created, false when it already existed.</returns>
    public bool CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        if (partitions < 1) throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "A topic needs at least one partition.");
        replicationFactor = Math.Clamp(replicationFactor, 1, BrokerCount);
        var err = Call(c => LibRdKafka.rd_kafka_mock_topic_create(c, topic, partitions, replicationFactor));
        if (err == (int)ErrorCode.TopicAlreadyExists) return false;
        ThrowIfError(err, $"create topic '{topic}' with {partitions} partitions");
        return true;
    }

    /// <summary>Takes a broker down: its connections are closed and it accepts none until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId) =>
        ThrowIfError(Call(c => LibRdKafka.rd_kafka_mock_broker_set_down(c, brokerId)), $"take broker {brokerId} down");

    /// <summary>Brings a broker taken down by <see cref="SetBrokerDown"/> back up.</summary>
    public void SetBrokerUp(int brokerId) =>
        ThrowIfError(Call(c => LibRdKafka.rd_kafka_mock_broker_set_up(c, brokerId)), $"bring broker {brokerId} up");

    /// <summary>Sets every response of a broker to be delayed by <paramref name="rtt"/>.</summary>
    public void SetBrokerRoundTripTime(int brokerId, TimeSpan rtt) =>
        ThrowIfError(Call(c => LibRdKafka.rd_kafka_mock_broker_set_rtt(c, brokerId, (int)rtt.TotalMilliseconds)), $"set broker {brokerId} round-trip time");

    /// <summary>Moves the leadership of one partition to a broker.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        ThrowIfError(Call(c => LibRdKafka.rd_kafka_mock_partition_set_leader(c, topic, partition, brokerId)), $"move {topic}[{partition}] to broker {brokerId}");

    /// <summary>
    /// Makes the next <paramref name="errors"/>.Length requests of the given Kafka API (e.g. 0 = Produce,
    /// 1 = Fetch, 8 = OffsetCommit) fail with these errors, one each, in order.
    /// </summary>
    public unsafe void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        var codes = new int[errors.Length];
        for (var i = 0; i < errors.Length; i++) codes[i] = (int)errors[i];
        fixed (int* p = codes)
        {
            var ptr = p;
            Call(c => { LibRdKafka.rd_kafka_mock_push_request_errors_array(c, apiKey, (nuint)codes.Length, ptr); return 0; });
        }
    }

    /// <summary>Clears the errors pushed for an API with <see cref="PushRequestErrors"/>.</summary>
    public void ClearRequestErrors(short apiKey) =>
        Call(c => { LibRdKafka.rd_kafka_mock_clear_request_errors(c, apiKey); return 0; });

    /// <summary>Makes every request on a topic fail with <paramref name="error"/>; <see cref="ErrorCode.NoError"/> clears it.</summary>
    public void SetTopicError(string topic, ErrorCode error) =>
        Call(c => { LibRdKafka.rd_kafka_mock_topic_set_error(c, topic, (int)error); return 0; });

    public void Dispose()
    {
        IntPtr rk, cluster;
        lock (_lock)
        {
            (rk, cluster) = (_rk, _cluster);
            (_rk, _cluster) = (IntPtr.Zero, IntPtr.Zero);
        }

        if (cluster != IntPtr.Zero) LibRdKafka.rd_kafka_mock_cluster_destroy(cluster);
        if (rk != IntPtr.Zero) LibRdKafka.rd_kafka_destroy(rk);
    }

    private int Call(Func<IntPtr, int> action)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            return action(_cluster);
        }
    }

    private static void ThrowIfError(int err, string what)
    {
        if (err != 0)
            throw new InvalidOperationException($"Embedded Kafka could not {what}: {LibRdKafka.ErrorText(err)} ({(ErrorCode)err}).");
    }

    private static unsafe IntPtr CreateHandle()
    {
        const int errSize = 512;
        var errstr = stackalloc byte[errSize];
        var conf = LibRdKafka.rd_kafka_conf_new();
        // The handle only hosts the mock cluster; keep its own logging quiet.
        _ = LibRdKafka.rd_kafka_conf_set(conf, "log_level", "3", errstr, errSize);
        var rk = LibRdKafka.rd_kafka_new(LibRdKafka.ProducerType, conf, errstr, errSize);
        if (rk == IntPtr.Zero)
        {
            throw new InvalidOperationException("librdkafka could not create the handle that hosts the mock cluster: " +
                Marshal.PtrToStringUTF8((IntPtr)errstr));
        }

        return rk;
    }
}
