using Confluent.Kafka;
using DotNet.Testcontainers.Configurations;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Kafka.Topics;
using Testcontainers.Kafka;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace StreamPipeline.Testing.Kafka;

/// <summary>
/// A Kafka broker for tests: a real one through Testcontainers.Kafka when a Docker engine is reachable and the broker
/// image is already present locally (no registry can be reached here, so a pull would only fail), librdkafka's
/// embedded mock cluster otherwise, so the same test bodies run on either.
/// <c>STREAMPIPELINE_TEST_KAFKA</c> = <c>auto</c> (default), <c>embedded</c> or <c>docker</c> forces a choice.
/// </summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    private const string KafkaImage = "confluentinc/cp-kafka:7.6.1";
    private readonly IMessageSink _sink;
    private KafkaContainer? _container;

    public KafkaFixture(IMessageSink sink) => _sink = sink;

    /// <summary>Which broker runs, and why; tests print it so the output says which one ran.</summary>
    public string Description { get; private set; } = "";

    public string BootstrapServers { get; private set; } = "";

    /// <summary>The embedded cluster, or null against a real broker (tests needing fault injection skip then).</summary>
    public EmbeddedKafkaCluster? Embedded { get; private set; }

    public ITopicProvisioner Topics { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var mode = Environment.GetEnvironmentVariable("STREAMPIPELINE_TEST_KAFKA")?.ToLowerInvariant() ?? "auto";
        string? dockerProblem = null;
        if (mode == "auto" && !LocalImagePresent(KafkaImage, out var why))
        {
            dockerProblem = why;
        }
        else if (mode is "auto" or "docker")
        {
            try
            {
                // Testcontainers' resource reaper (Ryuk) is one more image to pull, pinned by digest, so it is never here;
                // DisposeAsync removes the broker's container instead (a killed test run may leave it behind).
                TestcontainersSettings.ResourceReaperEnabled = false;
                _container = new KafkaBuilder(KafkaImage).Build();
                await _container.StartAsync();
                BootstrapServers = _container.GetBootstrapAddress();
                Topics = new AdminClientTopicProvisioner(new AdminClientConfig { BootstrapServers = BootstrapServers });
                Description = $"real Kafka ({KafkaImage}) through Testcontainers.Kafka at {BootstrapServers}";
            }
            catch (Exception e) when (mode == "auto")
            {
                // Any failure to start the real broker (an engine that stops answering, a pull, a wait strategy timing out)
                // falls back to the embedded cluster in auto mode, and the description says why.
                dockerProblem = e.GetType().Name + ": " + e.Message.Split('\n')[0];
                if (_container is not null) await _container.DisposeAsync();
                _container = null;
            }
        }

        if (_container is null)
        {
            Embedded = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
            BootstrapServers = Embedded.BootstrapServers;
            Topics = new MockClusterTopicProvisioner(Embedded);
            Description = $"embedded librdkafka mock cluster (3 brokers) at {BootstrapServers}" +
                          (dockerProblem is null ? "" : $"; Testcontainers not used: {dockerProblem}");
        }

        _sink.OnMessage(new DiagnosticMessage("Kafka for tests: " + Description));
    }

    /// <summary>
    /// Whether <c>docker image inspect</c> finds the image locally (false without a docker CLI or engine). The reason says
    /// which: an engine that answers without the image (no registry to pull from) or no engine at all.
    /// </summary>
    private static bool LocalImagePresent(string image, out string why)
    {
        try
        {
            using var inspect = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("docker", ["image", "inspect", "--format", "{{.Id}}", image])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var stderr = inspect.StandardError.ReadToEndAsync();
            _ = inspect.StandardOutput.ReadToEndAsync();
            if (!inspect.WaitForExit(10_000))
            {
                inspect.Kill();
                why = "docker image inspect did not answer within 10 s";
                return false;
            }

            var said = stderr.Wait(1_000) ? stderr.Result.Trim().Split('\n')[0] : "";
            why = inspect.ExitCode == 0 ? "" :
                said.Contains("No such image", StringComparison.OrdinalIgnoreCase)
                    ? $"a Docker engine answers but image {image} is not present locally (no registry to pull from; load it or set STREAMPIPELINE_TEST_KAFKA=docker)"
                    : $"no Docker engine answers ({said})";
            return inspect.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            why = "no docker CLI";
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        Embedded?.Dispose();
        if (_container is not null) await _container.DisposeAsync();
    }

    /// <summary>Creates a topic with a unique name for one test.</summary>
    public async Task<string> CreateTopicAsync(string prefix, int partitions)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}";
        await Topics.EnsureTopicsAsync([new TopicSpec(name, partitions, ReplicationFactor: 1)], CancellationToken.None);
        return name;
    }

    public ProducerConfig ProducerConfig() => new()
    {
        BootstrapServers = BootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
        CompressionType = CompressionType.Lz4,
    };

    public ConsumerConfig ConsumerConfig(string groupId) => new()
    {
        BootstrapServers = BootstrapServers,
        GroupId = groupId,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 500,
    };

    /// <summary>Writes which broker is running to the test's output.</summary>
    public void Describe(ITestOutputHelper output) => output.WriteLine("Kafka: " + Description);
}
