using System.Text;

namespace StreamPipeline.Kafka.Topics;

/// <summary>
/// Which partition of <c>connector-requests</c> carries the requests for a connector: FNV-1a (32-bit) of the
/// connector id's UTF-8 bytes, modulo the partition count. Dispatchers produce there; the connector reads only
/// that partition. Stable across processes and .NET versions (unlike string.GetHashCode).
/// </summary>
public static class ConnectorPartitioner
{
    public static int PartitionFor(string connectorId, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(connectorId);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return (int)(Fnv1a(Encoding.UTF8.GetBytes(connectorId)) % (uint)partitionCount);
    }

    public static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        var hash = 2166136261u;
        foreach (var b in data)
        {
            hash ^= b;
            hash *= 16777619u;
        }

        return hash;
    }
}
