using System.Text.RegularExpressions;
using Confluent.Kafka;
using StreamPipeline.Deployment.Tests.Infrastructure;
using StreamPipeline.Kafka.Configuration;

namespace StreamPipeline.Deployment.Tests.Kafka;

/// <summary>
/// Issue 11: <c>Kafka:Client</c> promised to reach every client and win, but the admin clients and spctl ignored it and the
/// dispatcher and sink disagreed on who wins. Now every client config comes from <see cref="KafkaOptions"/>, and the
/// operator's settings are pinned in it.
/// </summary>
public sealed partial class KafkaClientSettingsTests
{
    private static readonly Dictionary<string, string> Security = new()
    {
        ["security.protocol"] = "sasl_ssl",
        ["sasl.mechanism"] = "SCRAM-SHA-512",
        ["sasl.username"] = "pipeline",
        ["sasl.password"] = "secret",
    };

    private static KafkaOptions Options() => new() { BootstrapServers = "kafka-1:9093", SchemaRegistryUrl = "http://registry:8081", Client = new(Security) };

    [Fact]
    public void KafkaOptions_SecuritySettings_AppearInEveryProducerConsumerAndAdminConfig()
    {
        var o = Options();
        ClientConfig[] configs = [o.ProducerConfig("p"), o.ConsumerConfig("g", "c"), o.AdminConfig("a")];

        foreach (var config in configs)
        {
            foreach (var (key, value) in Security) Assert.Equal(value, config.Get(key));
        }
    }

    [Fact]
    public void KafkaOptions_ServiceChangesAPinnedSettingAfterCreatingTheConfig_OperatorValueWins()
    {
        var o = Options();
        o.Client["linger.ms"] = "50";
        o.Client["enable.auto.commit"] = "false";

        // What the dispatcher does with its producer and its command consumer after creating them.
        var producer = o.ProducerConfig("dispatcher-1");
        producer.LingerMs = 1;
        producer.SecurityProtocol = SecurityProtocol.Plaintext;
        var consumer = o.ConsumerConfig("group", "dispatcher-1");
        consumer.EnableAutoCommit = true;
        consumer.Set("sasl.mechanism", "PLAIN");

        Assert.Equal("50", producer.Get("linger.ms"));
        Assert.Equal("sasl_ssl", producer.Get("security.protocol"));
        Assert.Equal("false", consumer.Get("enable.auto.commit"));
        Assert.Equal("SCRAM-SHA-512", consumer.Get("sasl.mechanism"));
        // Our defaults still apply where the operator set nothing.
        Assert.Equal(Acks.All, producer.Acks);
    }

    [Fact]
    public void KafkaOptions_ClientSettingsChangedAfterwards_DoNotLeakIntoConfigsAlreadyMade()
    {
        var o = Options();
        var before = o.ProducerConfig("p");
        o.Client["sasl.username"] = "other";

        Assert.Equal("pipeline", before.Get("sasl.username"));
        Assert.Equal("other", o.ProducerConfig("p").Get("sasl.username"));
    }

    /// <summary>
    /// Every client in the services, spctl and make run is built from a KafkaOptions config: no config object is made
    /// anywhere else, so no client can miss Kafka:Client. (The embedded mock and its provisioner are test infrastructure.)
    /// </summary>
    [Fact]
    public void Sources_EveryKafkaClientConfig_ComesFromKafkaOptions()
    {
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repository.Root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Repository.Root, file);
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal)) continue;
            if (relative.StartsWith("src/StreamPipeline.Embedded.", StringComparison.Ordinal)) continue;
            if (relative == "src/StreamPipeline.Kafka/Configuration/KafkaOptions.cs") continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (ConfigConstruction().IsMatch(lines[i])) offenders.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
            }
        }

        Assert.True(offenders.Count == 0, "Kafka client configs made outside KafkaOptions (use ProducerConfig/ConsumerConfig/AdminConfig):\n" + string.Join('\n', offenders));
    }

    [Theory]
    [InlineData("agents")]
    [InlineData("send --agent a-1 --action get-server-info")]
    [InlineData("tokens list")]
    [InlineData("tokens issue a-1")]
    public async Task Spctl_ClientSettingInEnvironment_ReachesItsKafkaClients(string command)
    {
        // An invalid value is refused by librdkafka when the client is built: proof the setting reached it, with no broker needed.
        using var spctl = ChildProcess.Start("dotnet", [Repository.ServiceDll("StreamPipeline.Cli"), .. command.Split(' ')], new Dictionary<string, string?>
        {
            ["StreamPipeline__Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["StreamPipeline__Kafka__Client__security.protocol"] = "not-a-protocol",
        });

        var (code, _) = await spctl.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 2, $"exit code {code}, expected 2 (invalid setting). Output:\n{spctl.Tail()}");
        Assert.Contains("security.protocol", spctl.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"new\s+(ProducerConfig|ConsumerConfig|AdminClientConfig|ClientConfig)\b|(ProducerConfig|ConsumerConfig|AdminClientConfig)\s+\w+\s*=\s*new\s*\(")]
    private static partial Regex ConfigConstruction();
}
