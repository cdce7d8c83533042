using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Sessions;

namespace StreamPipeline.EdgeConnector.Tests.Sessions;

public sealed class AdmissionControlTests
{
    private readonly FakeTime _time = new();

    private AdmissionControl Create(int maxConnections = 1000, double perSecond = 1000) =>
        new(Options.Create(new EdgeConnectorOptions { MaxConnections = maxConnections, AdmissionsPerSecond = perSecond }), _time);

    [Fact]
    public void TryAdmit_NotReady_RefusedWithoutUsingASlot()
    {
        var admission = Create();

        Assert.Equal(AdmissionRefusal.NotReady, admission.TryAdmit(ready: false));
        Assert.Equal(0, admission.Open);
    }

    [Fact]
    public void TryAdmit_AtMaxConnections_RefusedUntilOneIsReleased()
    {
        var admission = Create(maxConnections: 2);
        Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(true));
        Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(true));

        Assert.Equal(AdmissionRefusal.MaxConnections, admission.TryAdmit(true));
        admission.Release();
        Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(true));
        Assert.Equal(2, admission.Open);
    }

    [Fact]
    public void TryAdmit_FasterThanTheRate_RefusedThenAdmittedAfterASecond()
    {
        var admission = Create(perSecond: 3);
        for (var i = 0; i < 3; i++) Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(true));

        Assert.Equal(AdmissionRefusal.AdmissionRate, admission.TryAdmit(true));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(true));
    }

    [Fact]
    public void TryAdmit_Draining_RefusedFirst()
    {
        var admission = Create();
        admission.StartDraining();

        Assert.Equal(AdmissionRefusal.Draining, admission.TryAdmit(ready: false));
        Assert.True(admission.Draining);
        Assert.Equal("draining", AdmissionControl.Label(AdmissionRefusal.Draining));
    }
}
