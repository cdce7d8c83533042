namespace StreamPipeline.AgentSimulator.Misbehaviour;

/// <summary>Which agents of a fleet misbehave: a fraction spread evenly over the fleet, deterministic.</summary>
internal static class MisbehaviourAssignment
{
    /// <summary>The mode of the fleet's <paramref name="index"/>-th agent (0-based).</summary>
    public static AgentMisbehaviour For(int index, AgentMisbehaviour mode, double fraction)
    {
        if (mode == AgentMisbehaviour.None || fraction <= 0)
        {
            return AgentMisbehaviour.None;
        }

        if (fraction >= 1)
        {
            return mode;
        }

        // Agent i misbehaves when floor((i + 1) * f) steps past floor(i * f): exactly floor(N * f) agents, evenly spread.
        return Math.Floor((index + 1) * fraction) > Math.Floor(index * fraction) ? mode : AgentMisbehaviour.None;
    }

    /// <summary>Whether an agent in this mode is expected to end up authenticated.</summary>
    public static bool Authenticates(AgentMisbehaviour mode) =>
        mode is not (AgentMisbehaviour.NeverAuthenticate or AgentMisbehaviour.MetricsBeforeAuthentication or AgentMisbehaviour.BadToken);
}
