using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.AgentSimulator.Agent;
using StreamPipeline.AgentSimulator.Misbehaviour;

namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>
/// A fleet of simulated agents connected to the edge connector over real <c>wss://</c>, each behaving like the
/// real agent (agent-protocol.md). Start it in-process with <see cref="Start"/>; stop it with <see cref="StopAsync"/>
/// or by disposing it.
/// </summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private static readonly TimeSpan DefaultStopBudget = TimeSpan.FromSeconds(5);

    private readonly FleetContext _context;
    private readonly SimulatedAgent[] _agents;
    private readonly Dictionary<string, SimulatedAgent> _byId;
    private readonly Task[] _runs;
    private readonly ILogger _logger;
    private readonly FleetMeter _meter;
    private readonly int _expectedToAuthenticate;
    private readonly Lock _stopGate = new();
    private Task? _stopping;

    private SimulatedFleet(SimulatorOptions options, ILoggerFactory loggerFactory)
    {
        _logger = loggerFactory.CreateLogger<SimulatedFleet>();
        _context = new FleetContext(options, loggerFactory.CreateLogger<SimulatedAgent>());
        _agents = new SimulatedAgent[options.AgentCount];
        _byId = new Dictionary<string, SimulatedAgent>(options.AgentCount, StringComparer.Ordinal);
        for (var i = 0; i < _agents.Length; i++)
        {
            var agent = new SimulatedAgent(_context, i, options.FirstAgentNumber + i);
            _agents[i] = agent;
            _byId.Add(agent.AgentId, agent);
            if (MisbehaviourAssignment.Authenticates(agent.Misbehaviour))
            {
                _expectedToAuthenticate++;
            }
        }

        _meter = new FleetMeter(this);
        _runs = new Task[_agents.Length];
    }

    /// <summary>The settings the fleet runs with.</summary>
    public SimulatorOptions Options => _context.Options;

    /// <summary>Every agent, in agent-number order.</summary>
    public IReadOnlyList<SimulatedAgent> Agents => _agents;

    /// <summary>A snapshot of the fleet's counters.</summary>
    public FleetStats Stats => _context.Counters.Snapshot(_agents.Length);

    /// <summary>Agents expected to authenticate: all but those whose misbehaviour prevents it and those revoked.</summary>
    public int ExpectedAuthenticated => _expectedToAuthenticate - (int)Volatile.Read(ref _context.Counters.RevokedAgents);

    /// <summary>Validates <paramref name="options"/> (throwing an <see cref="ArgumentException"/> listing every problem) and starts the fleet.</summary>
    public static SimulatedFleet Start(SimulatorOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        var fleet = new SimulatedFleet(options, loggerFactory ?? NullLoggerFactory.Instance);
        FleetLog.Starting(fleet._logger, options.AgentCount, fleet._agents[0].AgentId, fleet._agents[^1].AgentId, options.ServerUrl,
            options.ConnectRatePerSecond, options.Misbehaviour, options.MisbehaviourFraction);
        for (var i = 0; i < fleet._agents.Length; i++)
        {
            var agent = fleet._agents[i];
            fleet._runs[i] = Task.Run(agent.RunAsync);
        }

        return fleet;
    }

    /// <summary>The token of <paramref name="agentId"/>: lowercase hex of SHA-256 over UTF-8 of <c>seed + ":" + agentId</c>.</summary>
    public static string TokenFor(string seed, string agentId)
    {
        ArgumentNullException.ThrowIfNull(seed);
        ArgumentNullException.ThrowIfNull(agentId);
        var input = Encoding.UTF8.GetBytes(seed + ":" + agentId);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The id of agent number <paramref name="number"/>: <c>{prefix}{number:D6}</c>.</summary>
    public static string AgentIdFor(string prefix, int number) => prefix + number.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>The agent with this id, or null.</summary>
    public SimulatedAgent? FindAgent(string agentId) => _byId.GetValueOrDefault(agentId);

    /// <summary>How many times the request <paramref name="requestId"/> really ran on <paramref name="agentId"/>.</summary>
    public int ExecutionCount(string agentId, long requestId) => FindAgent(agentId)?.ExecutionCount(requestId) ?? 0;

    /// <summary>How many times <paramref name="action"/> really ran on <paramref name="agentId"/>.</summary>
    public int ExecutionCount(string agentId, string action) => FindAgent(agentId)?.ExecutionCount(action) ?? 0;

    /// <summary>
    /// Waits until every agent expected to authenticate (<see cref="ExpectedAuthenticated"/>) is authenticated;
    /// throws a <see cref="TimeoutException"/> with the counters when the deadline passes first.
    /// </summary>
    public async Task WaitAllAuthenticatedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _context.Counters.Authenticated) < ExpectedAuthenticated)
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"{Volatile.Read(ref _context.Counters.Authenticated)} of {ExpectedAuthenticated} agents authenticated within {timeout} against {Options.ServerUrl}; {Stats}");
            }

            await Task.Delay(_agents.Length > 10_000 ? 100 : 10, cancellationToken);
        }
    }

    /// <summary>
    /// A reconnect storm: drops every connection at once and lets every agent reconnect immediately (no backoff,
    /// no ramp), then measures how fast they authenticate again, within <paramref name="timeout"/>.
    /// </summary>
    public async Task<StormResult> ReconnectAllAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var counters = _context.Counters;
        var expected = ExpectedAuthenticated;
        var before = Interlocked.Read(ref counters.Authentications);
        FleetLog.StormStarting(_logger, _agents.Length);
        var started = Stopwatch.GetTimestamp();
        foreach (var agent in _agents)
        {
            agent.ForceReconnect();
        }

        long again;
        while ((again = Interlocked.Read(ref counters.Authentications) - before) < expected
               || Volatile.Read(ref counters.Authenticated) < expected)
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                break;
            }

            await Task.Delay(5, cancellationToken);
        }

        var result = new StormResult(_agents.Length, (int)Math.Min(again, expected), expected, Stopwatch.GetElapsedTime(started));
        FleetLog.StormFinished(_logger, result);
        return result;
    }

    /// <summary>
    /// Stops every agent: no more reconnects, a normal closure (1000) on every open socket, and after
    /// <paramref name="budget"/> (default 5 s) whatever is still open is aborted. Safe to call twice.
    /// </summary>
    public Task StopAsync(TimeSpan? budget = null)
    {
        lock (_stopGate)
        {
            return _stopping ??= StopCoreAsync(budget ?? DefaultStopBudget);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StopCoreAsync(TimeSpan budget)
    {
        FleetLog.Stopping(_logger, _agents.Length);
        _context.RequestStop();
        var closes = new Task[_agents.Length];
        for (var i = 0; i < _agents.Length; i++)
        {
            closes[i] = _agents[i].CloseForStopAsync();
        }

        var all = Task.WhenAll(_runs);
        if (await Task.WhenAny(all, Task.Delay(budget)) != all)
        {
            var remaining = 0;
            foreach (var run in _runs)
            {
                remaining += run.IsCompleted ? 0 : 1;
            }

            FleetLog.StopTimedOut(_logger, remaining, budget);
            _context.AbortAll();
        }

        await all;
        await Task.WhenAll(closes);
        await _context.Scheduler.DisposeAsync();
        _meter.Dispose();
        FleetLog.Stopped(_logger, Stats);
        _context.Dispose();
    }
}
