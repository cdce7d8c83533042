namespace StreamPipeline.Protocol;

/// <summary>Bounds <see cref="MetricsParser"/> enforces on a <c>metrics</c> payload. Defaults suit real hosts with room to spare.</summary>
public sealed class MetricsLimits
{
    /// <summary>The defaults.</summary>
    public static MetricsLimits Default { get; } = new();

    /// <summary>Most <c>diskUsage</c> items accepted. Default 256.</summary>
    public int MaxDisks { get; init; } = 256;

    /// <summary>Most <c>networkInterfaces</c> items accepted. Default 256.</summary>
    public int MaxNetworkInterfaces { get; init; } = 256;

    /// <summary>Longest string accepted (device, mountpoint, fstype, name, mac, ipv4, ipv6), in UTF-8 bytes. Default 256.</summary>
    public int MaxStringBytes { get; init; } = 256;

    /// <summary>
    /// How far above 100 a percentage may go and still be accepted (kept as sent, not clamped): rounding and odd file
    /// systems report e.g. 100.3, and a whole sample should not be lost for that. Default 5 (so 0..105).
    /// </summary>
    public double PercentTolerance { get; init; } = 5;

    /// <summary>Every problem with these limits at once, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxDisks is < 0 or > 65_536)
        {
            errors.Add($"{nameof(MaxDisks)} must be between 0 and 65536, got {MaxDisks}.");
        }

        if (MaxNetworkInterfaces is < 0 or > 65_536)
        {
            errors.Add($"{nameof(MaxNetworkInterfaces)} must be between 0 and 65536, got {MaxNetworkInterfaces}.");
        }

        if (MaxStringBytes is < 1 or > 65_536)
        {
            errors.Add($"{nameof(MaxStringBytes)} must be between 1 and 65536, got {MaxStringBytes}.");
        }

        if (!double.IsFinite(PercentTolerance) || PercentTolerance < 0)
        {
            errors.Add($"{nameof(PercentTolerance)} must be a finite number of 0 or more, got {PercentTolerance}.");
        }

        return errors;
    }
}
