using System.Diagnostics.Metrics;

namespace StreamPipeline.Sink.Tests.Infrastructure;

/// <summary>Meters for components built by hand in tests.</summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters) meter.Dispose();
    }
}
