using StreamPipeline.Sink.Consuming;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>The plan a newly assigned partition follows, from the ledger's ranges and the committed offset: no broker, no ClickHouse.</summary>
public sealed class ReplayPlanTests
{
    [Fact]
    public void Build_NothingRecorded_NothingToReplay()
    {
        var plan = ReplayPlan.Build(committed: 500, recorded: []);

        Assert.Equal(0, plan.Count);
        Assert.Null(plan.StartOffset);
        Assert.Null(plan.Next);
        Assert.Equal(-1, plan.LastOffset);
    }

    [Fact]
    public void Build_CommittedAtFirstRecordedRange_ReplaysRecordedRangesAsRecorded()
    {
        var plan = ReplayPlan.Build(committed: 100, recorded: [(100, 199), (200, 249)]);

        Assert.Equal(new[] { (100L, 199L), (200L, 249L) }, plan.Ranges);
        Assert.Equal(100, plan.StartOffset);
        Assert.Equal(249, plan.LastOffset);
    }

    [Fact]
    public void Build_GapBetweenCommitAndFirstRecordedRange_GapIsARangeOfItsOwn()
    {
        // Records 90..99 were never recorded (the crash came before their batch was): they are batched on their own,
        // so the recorded range after them keeps its bounds and its token.
        var plan = ReplayPlan.Build(committed: 90, recorded: [(100, 199)]);

        Assert.Equal(new[] { (90L, 99L), (100L, 199L) }, plan.Ranges);
        Assert.Equal(90, plan.StartOffset);
    }

    [Fact]
    public void Build_NothingCommitted_StartsAtFirstRecordedRange()
    {
        var plan = ReplayPlan.Build(committed: null, recorded: [(40, 59)]);

        Assert.Equal(new[] { (40L, 59L) }, plan.Ranges);
    }

    [Fact]
    public void Build_RangeStartingInsideAPlannedOne_Skipped()
    {
        var plan = ReplayPlan.Build(committed: 0, recorded: [(0, 99), (50, 149), (100, 119)]);

        Assert.Equal(new[] { (0L, 99L), (100L, 119L) }, plan.Ranges);
    }

    [Fact]
    public void TryDropPassed_RangesEndingBeforeFirstRecordLeft_DroppedOneByOne()
    {
        // Retention deleted everything below offset 230.
        var plan = ReplayPlan.Build(committed: 100, recorded: [(100, 199), (200, 219), (220, 249)]);

        Assert.True(plan.TryDropPassed(230, out var first));
        Assert.True(plan.TryDropPassed(230, out var second));
        Assert.False(plan.TryDropPassed(230, out _));

        Assert.Equal((100L, 199L), first);
        Assert.Equal((200L, 219L), second);
        Assert.Equal((220L, 249L), plan.Next);
    }

    [Fact]
    public void CompletedThenPutBack_RefusedBatchBeforeIt_RangeIsNextAgain()
    {
        var plan = ReplayPlan.Build(committed: 0, recorded: [(0, 9), (10, 19)]);
        plan.Completed();
        Assert.Equal((10L, 19L), plan.Next);

        plan.PutBack((0, 9));

        Assert.Equal(new[] { (0L, 9L), (10L, 19L) }, plan.Ranges);
    }
}
