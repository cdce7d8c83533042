using System.Text;

namespace StreamPipeline.Kafka.Topics;

/// <summary>
/// Which partition of <c>connector-requests</c> carries the requests for a connector: FNV-1a of the connector id's
/// UTF-8 bytes, modulo the partition count. Dispatchers produce there; the connector reads only that partition.
/// </summary>
public static class ConnectorPartitioner
{
    public static int PartitionFor(string connectorId, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(connectorId))
        {
            hash ^= b;
            hash *= 16777619u;
        }

        return (int)(hash % (uint)partitionCount);
    }
}
