using StreamPipeline.EdgeConnector.Sessions;

namespace StreamPipeline.EdgeConnector.Tests.Sessions;

public sealed class LogBudgetTests
{
    [Fact]
    public void TryTake_PastTheBudget_SuppressedAndReportedWithTheNextLine()
    {
        var time = new FakeTime();
        var budget = new LogBudget(perMinute: 3, time);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(budget.TryTake(out var none));
            Assert.Equal(0, none);
        }

        for (var i = 0; i < 100; i++) Assert.False(budget.TryTake(out _));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(budget.TryTake(out _));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(budget.TryTake(out var suppressed));
        Assert.Equal(101, suppressed);
    }

    [Fact]
    public void TryTake_ZeroBudget_NeverLogs()
    {
        var budget = new LogBudget(0, new FakeTime());

        Assert.False(budget.TryTake(out _));
    }
}
