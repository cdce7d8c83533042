using StreamPipeline.Testing.Kafka;
using Xunit.Abstractions;

namespace StreamPipeline.Embedded.Kafka.Tests;

/// <summary>
/// Issue 11: once a Docker engine answers (CI builds and runs the service images), the fixture must not try to pull a
/// broker image from a registry nobody can reach: it runs a real broker only when the image is present locally (or
/// STREAMPIPELINE_TEST_KAFKA=docker), the embedded cluster otherwise, and says which ran and why. .ci/images.sh runs this
/// test while its Docker engine answers.
/// </summary>
public sealed class KafkaFixtureTests(KafkaFixture kafka, ITestOutputHelper output) : IClassFixture<KafkaFixture>
{
    [Fact]
    public void Description_NamesTheBrokerThatRanAndWhyNotTheOther()
    {
        kafka.Describe(output);

        if (kafka.Embedded is null)
        {
            Assert.StartsWith("real Kafka (", kafka.Description, StringComparison.Ordinal);
            return;
        }

        Assert.StartsWith("embedded librdkafka mock cluster", kafka.Description, StringComparison.Ordinal);
        var mode = Environment.GetEnvironmentVariable("STREAMPIPELINE_TEST_KAFKA")?.ToLowerInvariant() ?? "auto";
        if (mode == "auto") Assert.Contains("; Testcontainers not used: ", kafka.Description, StringComparison.Ordinal);
    }
}
