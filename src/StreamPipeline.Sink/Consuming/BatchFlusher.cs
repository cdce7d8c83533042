using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// Inserts one batch: (1) record its range in <c>sink_batches</c>, (2) publish its dead letters, (3) insert every
/// table with the range's token. Transient failures are retried (inside the loader by Polly, then here, step by step,
/// until the partition is revoked or the worker stops); the consumer thread commits when this completes. A batch
/// ClickHouse refuses for its data (<see cref="ClickHouseErrors.IsPoison"/>) is not retried: the task returns the
/// reason and the consumer thread dead-letters the range.
/// </summary>
internal sealed partial class BatchFlusher(ClickHouseLoader loader, DeadLetterPublisher deadLetters, SinkOptions options, ILogger<BatchFlusher> logger)
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
                        if (batch.DeadLetters is { Count: > 0 } letters) await deadLetters.PublishAsync(letters, cancellationToken);
                        step = 2;
                    }

                    for (; step - 2 < batch.Tables.Length; step++)
                    {
                        var rows = batch.Rows[step - 2];
                        if (rows.Rows == 0) continue;
                        try
                        {
                            await loader.InsertAsync(batch.Tables[step - 2], rows, batch.Token, cancellationToken);
                        }
                        catch (Exception e) when (ClickHouseErrors.IsPoison(e))
                        {
                            var reason = ClickHouseErrors.ExplainPoison(e, batch.Tables[step - 2].Name);
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

    [LoggerMessage(EventId = 4402, Level = LogLevel.Error, Message = "Batch {Topic}[{Partition}] {First}..{Last} refused by ClickHouse for its data, not retried; its records go to the dead-letter topic: {Reason}")]
    private static partial void LogRejected(ILogger logger, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "Batch {Topic}[{Partition}] {First}..{Last} not inserted yet, trying again in {Seconds:F1} s: {Reason}")]
    private static partial void LogFlushRetry(ILogger logger, string topic, int partition, long first, long last, double seconds, string reason);
}
