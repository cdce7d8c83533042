using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// Inserts one batch: (1) record its range in <c>sink_batches</c>, (2) publish its dead letters, (3) insert every
/// table with the range's token, the <c>dead_letters</c> rows last. Transient failures are retried (inside the loader by Polly, then here
/// with <see cref="Retry.Forever(Func{Exception, bool}, Action{Exception, TimeSpan, Polly.ResilienceContext}, TimeProvider?, TimeSpan?, TimeSpan?)"/>,
/// step by step, until the partition is revoked or the worker stops); the consumer thread commits when this completes. A batch
/// ClickHouse refuses for its data (<see cref="ClickHouseErrors.IsPoison"/>) is not retried: the task returns the
/// reason and the consumer thread dead-letters the range.
/// </summary>
internal sealed partial class BatchFlusher
{
    private static readonly ResiliencePropertyKey<PartitionBatch> BatchKey = new("sink.batch");
    private readonly ClickHouseLoader _loader;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly SinkOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ResiliencePipeline _retry;

    public BatchFlusher(ClickHouseLoader loader, DeadLetterPublisher deadLetters, SinkOptions options, TimeProvider time, ILogger<BatchFlusher> logger)
    {
        _loader = loader;
        _deadLetters = deadLetters;
        _options = options;
        _time = time;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConcurrentInserts);
        _retry = Retry.Forever(
            e => ClickHouseErrors.IsTransient(e) || e is KafkaException,
            (e, delay, context) =>
            {
                var batch = context.Properties.GetValue(BatchKey, null!);
                var (first, last) = batch.Range;
                LogFlushRetry(_logger, batch.TopicPartition.Topic, batch.TopicPartition.Partition.Value, first, last, delay.TotalSeconds, e.Message);
            },
            time, first: TimeSpan.FromMilliseconds(500), max: TimeSpan.FromSeconds(5));
    }

    /// <summary>Null when the batch is in; else why ClickHouse refused its rows.</summary>
    public async Task<string?> FlushAsync(PartitionBatch batch, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(BatchKey, batch);
            // A retry resumes at the step that failed: a range recorded or dead letters published are not done twice.
            var progress = new FlushProgress(this, batch);
            return await _retry.ExecuteAsync(static (ctx, p) => p.Flusher.AttemptAsync(p, ctx.CancellationToken), context, progress);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            _slots.Release();
        }
    }

    /// <summary>One attempt, from the step the last one stopped at.</summary>
    private async ValueTask<string?> AttemptAsync(FlushProgress progress, CancellationToken cancellationToken)
    {
        var batch = progress.Batch;
        var (first, last) = batch.Range;
        var tp = batch.TopicPartition;
        var tables = batch.Tables.Length;
        if (progress.Step == 0)
        {
            await _loader.RecordBatchAsync(_options.GroupId, tp.Topic, tp.Partition.Value, first, last, cancellationToken);
            progress.Step = 1;
        }

        if (progress.Step == 1)
        {
            if (batch.DeadLetters is { Count: > 0 } letters)
            {
                var copies = await _deadLetters.PublishAsync(letters, cancellationToken);
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                batch.DeadLetterRows.Dispose();
                for (var i = 0; i < letters.Count; i++) DeadLetterRows.AppendSinkLetter(letters[i], _deadLetters.Topic, copies[i], now, batch.DeadLetterRows);
            }

            progress.Step = 2;
        }

        // The data tables, then the dead-letter index: a batch refused for its data stops before the index,
        // so the re-read that dead-letters the whole range writes it under the same token.
        for (; progress.Step - 2 <= tables; progress.Step++)
        {
            var index = progress.Step - 2;
            var table = index < tables ? batch.Tables[index] : SinkTables.DeadLetters;
            var rows = index < tables ? batch.Rows[index] : batch.DeadLetterRows;
            if (rows.Rows == 0) continue;
            try
            {
                // The index has a token of its own: a batch of the connector's dead letters inserts into
                // dead_letters as its data table too.
                await _loader.InsertAsync(table, rows, index < tables ? batch.Token : batch.Token + "/dead_letters", cancellationToken);
            }
            catch (Exception e) when (ClickHouseErrors.IsPoison(e))
            {
                var reason = ClickHouseErrors.ExplainPoison(e, table.Name);
                if (batch.Rejection is not null && index == tables)
                {
                    // The range is already refused and in the dead-letter topic; refusing its index too
                    // would re-read it forever.
                    LogIndexRefused(_logger, tp.Topic, tp.Partition.Value, first, last, reason);
                    return null;
                }

                LogRejected(_logger, tp.Topic, tp.Partition.Value, first, last, reason);
                return reason;
            }
        }

        return null;
    }

    /// <summary>Where a batch's flush is: 0 record the range, 1 publish the dead letters, 2.. insert table (step - 2).</summary>
    private sealed class FlushProgress(BatchFlusher flusher, PartitionBatch batch)
    {
        public BatchFlusher Flusher { get; } = flusher;

        public PartitionBatch Batch { get; } = batch;

        public int Step { get; set; }
    }

    [LoggerMessage(EventId = 4403, Level = LogLevel.Error, Message = "Batch {Topic}[{Partition}] {First}..{Last}: its records are in the dead-letter topic, but ClickHouse refused their rows in dead_letters too (not retried): {Reason}")]
    private static partial void LogIndexRefused(ILogger logger, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(EventId = 4402, Level = LogLevel.Error, Message = "Batch {Topic}[{Partition}] {First}..{Last} refused by ClickHouse for its data, not retried; its records go to the dead-letter topic: {Reason}")]
    private static partial void LogRejected(ILogger logger, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "Batch {Topic}[{Partition}] {First}..{Last} not inserted yet, trying again in {Seconds:F1} s: {Reason}")]
    private static partial void LogFlushRetry(ILogger logger, string topic, int partition, long first, long last, double seconds, string reason);
}
