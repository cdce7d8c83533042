using StreamPipeline.Dispatcher.Commands;

namespace StreamPipeline.Dispatcher.Tests.Commands;

public sealed class RequestIdsTests
{
    [Fact]
    public void Derive_Position_LayoutEpochPartitionOffsetPlusOne()
    {
        Assert.Equal(1, RequestIds.Derive(0, 0, 0));
        Assert.Equal((3L << 49) | (5L << 40) | 101, RequestIds.Derive(3, 5, 100));
        Assert.Equal((3, 5, 100L), RequestIds.Decompose(RequestIds.Derive(3, 5, 100)));
    }

    [Fact]
    public void Derive_LargestPosition_BelowTwoToThe53()
    {
        var max = RequestIds.Derive(RequestIds.MaxEpoch, RequestIds.MaxPartitions - 1, RequestIds.MaxOffset);
        Assert.Equal((1L << 53) - 1, max);
        Assert.True(max < 1L << 53);
    }

    [Fact]
    public void Derive_DifferentPositions_DifferentIds()
    {
        var ids = new HashSet<long>();
        for (var e = 0; e < 3; e++)
        for (var p = 0; p < 4; p++)
        for (long o = 0; o < 50; o++)
            Assert.True(ids.Add(RequestIds.Derive(e, p, o)));
    }

    [Theory]
    [InlineData(-1, 0, 0L)]
    [InlineData(16, 0, 0L)]
    [InlineData(0, -1, 0L)]
    [InlineData(0, 512, 0L)]
    [InlineData(0, 0, -1L)]
    [InlineData(0, 0, (1L << 40) - 1)]
    public void Derive_OutOfRange_Throws(int epoch, int partition, long offset) =>
        Assert.Throws<RequestIdOutOfRangeException>(() => RequestIds.Derive(epoch, partition, offset));
}
