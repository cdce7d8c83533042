namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// Protocol request ids derived from a command record's position in the commands topic:
/// <c>(epoch &lt;&lt; 49) | (partition &lt;&lt; 40) | (offset + 1)</c>. A redelivered record (restart, rebalance, another
/// dispatcher) has the same position, so the same id, and the agent answers it from its cache; a different record has a
/// different position, so a new id. Ids stay below 2^53 and above 0 (agent-protocol.md section 6). The epoch (0..15)
/// must be raised whenever the commands topic is recreated, since offsets then start again at 0.
/// </summary>
public static class RequestIds
{
    public const int MaxEpoch = 15;
    public const int MaxPartitions = 512;
    public const long MaxOffset = (1L << 40) - 2;

    /// <summary>The id of the record at (<paramref name="partition"/>, <paramref name="offset"/>).</summary>
    /// <exception cref="RequestIdOutOfRangeException">A value is outside the range the layout can hold.</exception>
    public static long Derive(int epoch, int partition, long offset)
    {
        if (epoch is < 0 or > MaxEpoch)
            throw new RequestIdOutOfRangeException($"Dispatcher:RequestIdEpoch must be 0..{MaxEpoch}, got {epoch}.");
        if (partition is < 0 or >= MaxPartitions)
            throw new RequestIdOutOfRangeException($"The commands topic has a partition {partition}; request ids hold partitions 0..{MaxPartitions - 1}. Use fewer partitions.");
        if (offset is < 0 or > MaxOffset)
            throw new RequestIdOutOfRangeException($"Offset {offset} of commands partition {partition} is beyond 2^40 - 2; request ids would repeat. Recreate the commands topic and raise Dispatcher:RequestIdEpoch.");
        return ((long)epoch << 49) | ((long)partition << 40) | (offset + 1);
    }

    /// <summary>The position an id was derived from.</summary>
    public static (int Epoch, int Partition, long Offset) Decompose(long requestId) =>
        ((int)(requestId >> 49), (int)((requestId >> 40) & (MaxPartitions - 1)), (requestId & ((1L << 40) - 1)) - 1);
}

/// <summary>A request id cannot be derived without risking a repeat: the dispatcher stops rather than reuse an id.</summary>
public sealed class RequestIdOutOfRangeException(string message) : Exception(message);
