using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace StreamPipeline.Sink.Telemetry;

/// <summary>The sink's counters and histograms (meter <c>StreamPipeline.Sink</c>, exported at /metrics).</summary>
internal sealed class SinkMetrics
{
    public const string MeterName = "StreamPipeline.Sink";
    private readonly Counter<long> _rowsInserted;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _schemaLookupFailures;
    private readonly ConcurrentDictionary<(string Topic, int Partition), long> _lag = new();

    public SinkMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        RecordsConsumed = meter.CreateCounter<long>("sink_records_consumed_total", description: "Kafka records read (decoded or dead-lettered).");
        _rowsInserted = meter.CreateCounter<long>("sink_rows_inserted_total", description: "Rows inserted into ClickHouse, by table (replays included; ClickHouse drops the duplicate blocks). Its rate is rows/s.");
        BatchRecords = meter.CreateHistogram<long>("sink_batch_records", "{record}", "Kafka records per inserted batch.");
        InsertLatency = meter.CreateHistogram<double>("sink_insert_latency", "ms", "Time of one successful ClickHouse insert, by table.");
        InsertRetries = meter.CreateCounter<long>("sink_insert_retries_total", description: "ClickHouse calls retried after a transient failure.");
        _deadLetters = meter.CreateCounter<long>("sink_dead_letters_total", description: "Records sent to the dead-letter topic, by reason.");
        BatchesReplayed = meter.CreateCounter<long>("sink_batches_replayed_total", description: "Recorded but uncommitted batches re-read from Kafka and re-inserted with their token after a crash or rebalance.");
        _schemaLookupFailures = meter.CreateCounter<long>("sink_schema_lookup_failures_total", description: "Schema Registry lookups retried, by reason (not_found: a 404 within Sink:SchemaNotFoundGrace; unavailable).");
        ClockSkewedSamples = meter.CreateCounter<long>("sink_clock_skewed_samples_total", description: "Metrics samples whose agent clock was more than Sink:MaxClockSkew away from the receive time (stored with clock_skewed = 1).");
        BatchesRejected = meter.CreateCounter<long>("sink_batches_rejected_total", description: "Batches ClickHouse refused for their data (e.g. TOO_MANY_PARTS for one INSERT block): their records were dead-lettered with the reason, the partition moved on.");
        Pauses = meter.CreateCounter<long>("sink_partition_pauses_total", description: "Times the consumer paused partitions (batch full while the previous one inserts, or ClickHouse down).");
        meter.CreateObservableGauge("sink_consumer_lag", ObserveLag, "{record}", "High watermark minus the consumer position, per partition.");
    }

    public Counter<long> RecordsConsumed { get; }
    public Histogram<long> BatchRecords { get; }
    public Histogram<double> InsertLatency { get; }
    public Counter<long> InsertRetries { get; }
    public Counter<long> BatchesReplayed { get; }
    public Counter<long> Pauses { get; }
    public Counter<long> ClockSkewedSamples { get; }
    public Counter<long> BatchesRejected { get; }

    public void RowsInserted(string table, int rows) => _rowsInserted.Add(rows, new KeyValuePair<string, object?>("table", table));

    public void DeadLetter(string reason) => _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void SchemaLookupFailed(bool notFound) => _schemaLookupFailures.Add(1, new KeyValuePair<string, object?>("reason", notFound ? "not_found" : "unavailable"));

    public void SetLag(string topic, int partition, long lag) => _lag[(topic, partition)] = lag;

    public void RemoveLag(string topic, int partition) => _lag.TryRemove((topic, partition), out _);

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var (key, lag) in _lag)
        {
            yield return new Measurement<long>(lag, new KeyValuePair<string, object?>("topic", key.Topic), new KeyValuePair<string, object?>("partition", key.Partition));
        }
    }
}
