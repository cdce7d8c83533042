using System.Net;
using StreamPipeline.EdgeConnector.Authentication;

namespace StreamPipeline.EdgeConnector.Tests.Authentication;

public sealed class AuthThrottleTests
{
    private static readonly IPAddress Nat = IPAddress.Parse("203.0.113.7");
    private readonly FakeTime _time = new();

    [Fact]
    public void IsBlocked_OneAgentFailsBehindANat_NeighboursOnTheSameAddressNotBlocked()
    {
        var throttle = new AuthThrottle(failuresPerMinute: 3, maxEntries: 1000, _time);
        for (var i = 0; i < 3; i++) throttle.RecordFailure(Nat, "revoked-agent");

        Assert.True(throttle.IsBlocked(Nat, "revoked-agent"));
        Assert.False(throttle.IsBlocked(Nat, "neighbour"));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("203.0.113.8"), "revoked-agent"));
    }

    [Fact]
    public void IsBlocked_WindowOver_AllowedAgain()
    {
        var throttle = new AuthThrottle(2, 1000, _time);
        throttle.RecordFailure(Nat, "a");
        throttle.RecordFailure(Nat, "a");
        Assert.True(throttle.IsBlocked(Nat, "a"));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(throttle.IsBlocked(Nat, "a"));
        throttle.RecordFailure(Nat, "a");
        Assert.False(throttle.IsBlocked(Nat, "a"));
    }

    [Fact]
    public void RecordFailure_PastMaxEntries_ForgetsTheLeastRecentOnlyAndStaysBounded()
    {
        var throttle = new AuthThrottle(1, maxEntries: 100, _time);
        throttle.RecordFailure(Nat, "attacker");
        for (var i = 0; i < 99; i++) throttle.RecordFailure(IPAddress.Parse($"10.0.0.{i % 250}"), "x" + i);
        throttle.RecordFailure(Nat, "attacker"); // the attacker's entry is now the most recent

        for (var i = 0; i < 50; i++) throttle.RecordFailure(IPAddress.Parse("10.1.0.1"), "y" + i);

        // Regression (issue 9): the table was cleared when full, which also freed every throttled address.
        Assert.Equal(100, throttle.Count);
        Assert.True(throttle.IsBlocked(Nat, "attacker"));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("10.0.0.0"), "x0"));
        Assert.True(throttle.IsBlocked(IPAddress.Parse("10.1.0.1"), "y49"));
    }
}
