using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// Inserts one batch: (1) record its range in <c>sink_batches</c>, (2) publish its dead letters, (3) insert every
/// table with the range's token, the <c>dead_letters</c> rows last. Transient failures are retried (inside the loader by Polly, then here, step by step,
/// until the partition is revoked or the worker stops); the consumer thread commits when this completes. A batch
/// ClickHouse refuses for its data (<see cref="ClickHouseErrors.IsPoison"/>) is not retried: the task returns the
/// reason and the consumer thread dead-letters the range.
/// </summary>
internal sealed partial class BatchFlusher(ClickHouseLoader loader, DeadLetterPublisher deadLetters, SinkOptions options, TimeProvider time, ILogger<BatchFlusher> logger)
{
    private readonly SemaphoreSlim _slots = new(options.MaxConcurrentInserts);

    /// <summary>Null when the batch is in; else why ClickHouse refused its rows.</summary>
    public async Task<string?> FlushAsync(PartitionBatch batch, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            var step = 0;
            var delay = TimeSpan.FromMilliseconds(500);
            var (first, last) = batch.Range;
            var tp = batch.TopicPartition;
            var tables = batch.Tables.Length;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    if (step == 0)
                    {
                        await loader.RecordBatchAsync(options.GroupId, tp.Topic, tp.Partition.Value, first, last, cancellationToken);
                        step = 1;
                    }

                    if (step == 1)
                    {
                        if (batch.DeadLetters is { Count: > 0 } letters)
                        {
                            var copies = await deadLetters.PublishAsync(letters, cancellationToken);
                            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                            batch.DeadLetterRows.Dispose();
                            for (var i = 0; i < letters.Count; i++) DeadLetterRows.AppendSinkLetter(letters[i], deadLetters.Topic, copies[i], now, batch.DeadLetterRows);
                        }

                        step = 2;
                    }

                    // The data tables, then the dead-letter index: a batch refused for its data stops before the index,
                    // so the re-read that dead-letters the whole range writes it under the same token.
                    for (; step - 2 <= tables; step++)
                    {
                        var index = step - 2;
                        var table = index < tables ? batch.Tables[index] : SinkTables.DeadLetters;
                        var rows = index < tables ? batch.Rows[index] : batch.DeadLetterRows;
                        if (rows.Rows == 0) continue;
                        try
                        {
                            // The index has a token of its own: a batch of the connector's dead letters inserts into
                            // dead_letters as its data table too.
                            await loader.InsertAsync(table, rows, index < tables ? batch.Token : batch.Token + "/dead_letters", cancellationToken);
                        }
                        catch (Exception e) when (ClickHouseErrors.IsPoison(e))
                        {
                            var reason = ClickHouseErrors.ExplainPoison(e, table.Name);
                            if (batch.Rejection is not null && index == tables)
                            {
                                // The range is already refused and in the dead-letter topic; refusing its index too
                                // would re-read it forever.
                                LogIndexRefused(logger, tp.Topic, tp.Partition.Value, first, last, reason);
                                return null;
                            }

                            LogRejected(logger, tp.Topic, tp.Partition.Value, first, last, reason);
                            return reason;
                        }
                    }

                    return null;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && (ClickHouseErrors.IsTransient(e) || e is KafkaException))
                {
                    LogFlushRetry(logger, tp.Topic, tp.Partition.Value, first, last, delay.TotalSeconds, e.Message);
                    await Task.Delay(delay, cancellationToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
                }
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    [LoggerMessage(EventId = 4403, Level = LogLevel.Error, Message = "Batch {Topic}[{Partition}] {First}..{Last}: its records are in the dead-letter topic, but ClickHouse refused their rows in dead_letters too (not retried): {Reason}")]
    private static partial void LogIndexRefused(ILogger logger, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(EventId = 4402, Level = LogLevel.Error, Message = "Batch {Topic}[{Partition}] {First}..{Last} refused by ClickHouse for its data, not retried; its records go to the dead-letter topic: {Reason}")]
    private static partial void LogRejected(ILogger logger, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "Batch {Topic}[{Partition}] {First}..{Last} not inserted yet, trying again in {Seconds:F1} s: {Reason}")]
    private static partial void LogFlushRetry(ILogger logger, string topic, int partition, long first, long last, double seconds, string reason);
}
