using StreamPipeline.Kafka.Topics;
using System.Text;

namespace StreamPipeline.Dispatcher.Tests.Routing;

public sealed class ConnectorPartitionerTests
{
    [Fact]
    public void Fnv1a_KnownVectors()
    {
        Assert.Equal(0x811c9dc5u, ConnectorPartitioner.Fnv1a([]));
        Assert.Equal(0xe40c292cu, ConnectorPartitioner.Fnv1a("a"u8));
        Assert.Equal(0xbf9cf968u, ConnectorPartitioner.Fnv1a("foobar"u8));
    }

    [Fact]
    public void PartitionFor_SameIdSamePartition_InRange()
    {
        for (var i = 0; i < 200; i++)
        {
            var id = $"edge-{i}";
            var p = ConnectorPartitioner.PartitionFor(id, 6);
            Assert.InRange(p, 0, 5);
            Assert.Equal(p, ConnectorPartitioner.PartitionFor(id, 6));
            Assert.Equal((int)(ConnectorPartitioner.Fnv1a(Encoding.UTF8.GetBytes(id)) % 6), p);
        }
    }

    [Fact]
    public void PartitionFor_LongNonAsciiId_HashesUtf8Bytes()
    {
        var id = new string('é', 400);
        Assert.Equal((int)(ConnectorPartitioner.Fnv1a(Encoding.UTF8.GetBytes(id)) % 7), ConnectorPartitioner.PartitionFor(id, 7));
    }
}
