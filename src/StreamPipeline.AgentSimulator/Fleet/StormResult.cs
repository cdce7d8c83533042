namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>What <see cref="SimulatedFleet.ReconnectAllAsync"/> measured.</summary>
/// <param name="Agents">Agents whose connection was dropped.</param>
/// <param name="Reauthenticated">Of those expected to authenticate, how many did again before the deadline.</param>
/// <param name="Expected">Agents expected to authenticate again (misbehaving ones that never do are left out).</param>
/// <param name="Elapsed">From the drop to the last re-authentication (or the deadline).</param>
public sealed record StormResult(int Agents, int Reauthenticated, int Expected, TimeSpan Elapsed)
{
    /// <summary>True when every expected agent authenticated again.</summary>
    public bool Completed => Reauthenticated >= Expected;

    /// <summary>Re-authenticated sessions per second over <see cref="Elapsed"/>.</summary>
    public double ConnectionsPerSecond => Elapsed > TimeSpan.Zero ? Reauthenticated / Elapsed.TotalSeconds : 0;

    public override string ToString() =>
        $"{Reauthenticated}/{Expected} re-authenticated in {Elapsed.TotalSeconds:0.000} s ({ConnectionsPerSecond:0} connections/s), {Agents} dropped";
}
