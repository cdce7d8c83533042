using System.Buffers;
using System.Text;

namespace StreamPipeline.Dispatcher.Routing;

/// <summary>
/// The partition of <c>connector-requests</c> that carries one connector's requests: 32-bit FNV-1a of the connector id's
/// UTF-8 bytes, modulo the partition count. Dispatchers (producing) and connectors (consuming) must compute the same
/// value, so this function is part of the contract: never change it while either side runs.
/// </summary>
public static class ConnectorPartitioner
{
    private const uint OffsetBasis = 2166136261;
    private const uint Prime = 16777619;

    /// <summary>The partition, 0 to <paramref name="partitionCount"/> - 1, for <paramref name="connectorId"/>.</summary>
    public static int PartitionFor(string connectorId, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(connectorId);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var max = Encoding.UTF8.GetMaxByteCount(connectorId.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(connectorId, buffer);
            return (int)(Fnv1a(buffer[..length]) % (uint)partitionCount);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>32-bit FNV-1a.</summary>
    public static uint Fnv1a(ReadOnlySpan<byte> bytes)
    {
        var hash = OffsetBasis;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }

        return hash;
    }
}
