using System.Globalization;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Loading;

/// <summary>
/// Every call the sink makes to ClickHouse, each through one resilience pipeline built at start: retry transient
/// failures with exponential backoff and jitter, a circuit breaker over them, and a timeout per attempt. Non-transient
/// failures (see <see cref="ClickHouseErrors"/>) pass straight through.
/// </summary>
internal sealed partial class ClickHouseLoader : IDisposable
{
    private readonly ClickHouseClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly SinkMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _database;
    private readonly TimeProvider _time;

    public ClickHouseLoader(ClickHouseClient client, string database, TimeSpan attemptTimeout, SinkMetrics metrics, ILogger logger, TimeProvider? time = null)
    {
        _client = client;
        _database = database;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        var transient = new PredicateBuilder().Handle<Exception>(ClickHouseErrors.IsTransient);
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(5),
                OnRetry = args =>
                {
                    _metrics.InsertRetries.Add(1);
                    LogRetry(_logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(3),
                OnOpened = args =>
                {
                    Available = false;
                    LogCircuitOpened(_logger, args.BreakDuration.TotalSeconds, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
                OnClosed = _ =>
                {
                    LogCircuitClosed(_logger);
                    return default;
                },
            })
            .AddTimeout(attemptTimeout)
            .Build();
    }

    /// <summary>False from the moment the circuit opens (or an operation gave up) until an operation succeeds again.</summary>
    public bool Available { get; private set; } = true;

    public ClickHouseClient Client => _client;

    /// <summary>Records a batch's offset range in <c>sink_batches</c>, before the batch is inserted.</summary>
    public Task RecordBatchAsync(string group, string topic, int partition, long first, long last, CancellationToken cancellationToken) =>
        RunAsync(ct => new ValueTask(_client.InsertBinaryAsync(
            $"{_database}.sink_batches",
            ["consumer_group", "topic", "partition", "first_offset", "last_offset", "created_at"],
            [[group, topic, (uint)partition, (ulong)first, (ulong)last, _time.GetUtcNow().UtcDateTime]],
            cancellationToken: ct)), cancellationToken);

    /// <summary>Inserts RowBinary rows as one block whose deduplication token is <paramref name="token"/> (materialized-view targets deduplicate too).</summary>
    public Task InsertAsync(SinkTable table, RowBinaryBuffer rows, string token, CancellationToken cancellationToken)
    {
        var options = new QueryOptions
        {
            CustomSettings = new Dictionary<string, object>
            {
                ["insert_deduplicate"] = 1,
                ["insert_deduplication_token"] = token,
                ["deduplicate_blocks_in_dependent_materialized_views"] = 1,
                ["async_insert"] = 0,
            },
        };
        return RunAsync(async ct =>
        {
            var started = _time.GetTimestamp();
            using var stream = rows.OpenRead();
            using var response = await _client.InsertRawStreamAsync($"{_database}.{table.Name}", stream, "RowBinary", table.Columns, useCompression: false, options, ct);
            response.EnsureSuccessStatusCode();
            _metrics.InsertLatency.Record(_time.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("table", table.Name));
            _metrics.RowsInserted(table.Name, rows.Rows);
        }, cancellationToken);
    }

    /// <summary>Ranges recorded for a partition that end at or after <paramref name="committed"/>, oldest first.</summary>
    public async Task<List<(long First, long Last)>> RecordedRangesAsync(string group, string topic, int partition, long committed, CancellationToken cancellationToken)
    {
        var ranges = new List<(long, long)>();
        await RunAsync(async ct =>
        {
            ranges.Clear();
            var parameters = new ClickHouseParameterCollection();
            parameters.AddParameter("g", group);
            parameters.AddParameter("t", topic);
            parameters.AddParameter("p", (uint)partition);
            parameters.AddParameter("c", (ulong)Math.Max(0, committed));
            using var reader = await _client.ExecuteReaderAsync(
                $"SELECT first_offset, max(last_offset) FROM {_database}.sink_batches " +
                "WHERE consumer_group = {g:String} AND topic = {t:String} AND partition = {p:UInt32} AND last_offset >= {c:UInt64} " +
                "GROUP BY first_offset ORDER BY first_offset",
                parameters, cancellationToken: ct);
            while (reader.Read())
            {
                ranges.Add((Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture)));
            }
        }, cancellationToken);
        return ranges;
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _client.PingAsync(cancellationToken: cancellationToken);
        }
        catch (Exception e) when (ClickHouseErrors.IsTransient(e))
        {
            return false;
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task RunAsync(Func<CancellationToken, ValueTask> action, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.ExecuteAsync(action, cancellationToken);
            Available = true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && ClickHouseErrors.IsTransient(e))
        {
            Available = false;
            throw;
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "ClickHouse call failed, attempt {Attempt} in {DelayMs:F0} ms: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Error, Message = "ClickHouse unavailable: circuit open for {Seconds:F0} s, consumer partitions paused ({Reason})")]
    private static partial void LogCircuitOpened(ILogger logger, double seconds, string reason);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "ClickHouse reachable again: circuit closed")]
    private static partial void LogCircuitClosed(ILogger logger);
}
