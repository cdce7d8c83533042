namespace StreamPipeline.AgentSimulator.Host;

/// <summary>
/// A tiny seeded generator (SplitMix64): 8 bytes of state per agent instead of <see cref="Random"/>'s ~280,
/// which matters at 100,000 agents. Not thread-safe: each owner uses it from one logical flow at a time.
/// </summary>
internal sealed class SimRandom
{
    private ulong _state;

    public SimRandom(ulong seed) => _state = seed;

    public static ulong Mix(ulong a, ulong b)
    {
        var z = a * 0x9E3779B97F4A7C15UL ^ (b + 0x632BE59BD9B4E019UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double NextDouble(double min, double max) => min + (NextDouble() * (max - min));

    /// <summary>Uniform in [0, max).</summary>
    public int Next(int max) => max <= 0 ? 0 : (int)(NextUInt64() % (ulong)max);

    /// <summary>Uniform in [min, max).</summary>
    public int Next(int min, int max) => min + Next(max - min);

    /// <summary>Roughly normal with mean 0 and deviation 1 (Irwin-Hall of 4 uniforms): cheap and bounded.</summary>
    public double NextGaussian() => (NextDouble() + NextDouble() + NextDouble() + NextDouble() - 2.0) * 1.7320508;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
