namespace StreamPipeline.Dispatcher.Tests;

public sealed class DispatcherOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrors() => Assert.Empty(new DispatcherOptions().Validate());

    [Fact]
    public void Validate_EveryBadSetting_ReportedByName()
    {
        var o = new DispatcherOptions { RequestIdEpoch = 16, DefaultDeadline = TimeSpan.FromHours(2), MaxPendingPerPartition = 0, CommandsTopic = "" };
        o.ActionTimeouts["get-server-info"] = TimeSpan.Zero;
        o.ActionTimeouts["reboot"] = TimeSpan.FromSeconds(1);
        var errors = string.Join("\n", o.Validate());
        foreach (var name in new[] { "RequestIdEpoch", "DefaultDeadline", "MaxPendingPerPartition", "CommandsTopic", "ActionTimeouts:get-server-info", "ActionTimeouts:reboot" })
            Assert.Contains("Dispatcher:" + name, errors, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeoutFor_Defaults_PerAction()
    {
        var o = new DispatcherOptions();
        Assert.Equal(TimeSpan.FromSeconds(10), o.TimeoutFor("get-server-info"));
        Assert.Equal(TimeSpan.FromSeconds(60), o.TimeoutFor("get-service-log"));
        Assert.Equal(TimeSpan.FromSeconds(60), o.TimeoutFor("restart-service"));
        Assert.Equal(TimeSpan.FromSeconds(15), o.TimeoutFor("get-processes"));
    }
}
