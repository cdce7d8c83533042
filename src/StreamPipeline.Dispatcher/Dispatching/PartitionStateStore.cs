using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// The partitions' snapshots on the dispatchers' state topic (partition i of it for partition i of the commands topic,
/// keyed by the number, compacted): written by the consume loop whenever a partition changed, and read back by the next
/// owner at assignment. A restore is exact: the last snapshot says which records are decided, and the results written
/// after it (from the positions it recorded) name the commands decided since, so a reopened partition answers and sends
/// nothing twice however long a waiting command pinned its commit.
/// </summary>
internal sealed class PartitionStateStore(
    IOptions<DispatcherOptions> options, IOptions<KafkaOptions> kafka, KafkaDispatchOutput output, TimeProvider time, ILogger<PartitionStateStore> logger)
{
    private static readonly TimeSpan ReadBudget = TimeSpan.FromSeconds(10);
    private readonly DispatcherOptions _o = options.Value;
    private readonly KafkaOptions _kafka = kafka.Value;
    private AvroRecordWriter? _writer;
    private IDeserializer<GenericRecord>? _reader;
    private int _resultsPartitions;

    public void Start(int stateSchemaId, ISchemaRegistryClient registry, int resultsPartitions)
    {
        _writer = new AvroRecordWriter(ContractCodec.DispatcherStateSchema, stateSchemaId);
        _reader = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();
        _resultsPartitions = resultsPartitions;
    }

    /// <summary>Produces snapshots (with this producer's results positions); <paramref name="delivered"/> counts down as Kafka acknowledges them.</summary>
    public void Write(IEnumerable<PartitionSnapshot> snapshots, CountdownEvent? delivered = null)
    {
        var positions = output.ResultsPositions();
        foreach (var s in snapshots)
        {
            delivered?.AddCount();
            output.PublishState(s.Partition, _writer!.Write(ToRecord(s with { ResultsPositions = positions })), _ => delivered?.Signal());
        }
    }

    /// <summary>Writes the final snapshots of partitions being handed over and waits (bounded) until Kafka has them.</summary>
    public void WriteFinal(IReadOnlyCollection<PartitionSnapshot> snapshots)
    {
        if (snapshots.Count == 0) return;
        using var delivered = new CountdownEvent(1);
        Write(snapshots, delivered);
        delivered.Signal();
        if (!delivered.Wait(TimeSpan.FromSeconds(10))) Log.CommitFailed(logger, _o.StateTopic, "final snapshots not acknowledged within 10 s; the next owner restores from an earlier one");
    }

    /// <summary>
    /// For newly assigned commands partitions: the last snapshot of each (null: none usable), the committed offset, and
    /// the ids of commands decided after the snapshots. Runs on the consume thread inside the assignment callback.
    /// </summary>
    public Dictionary<int, (PartitionSnapshot? Snapshot, long Committed)> Restore(IConsumer<string, byte[]> group, IReadOnlyList<int> partitions, out List<string> decidedSince)
    {
        var restored = new Dictionary<int, (PartitionSnapshot?, long)>();
        decidedSince = [];
        var committed = Committed(group, partitions);
        var config = _kafka.ConsumerConfig($"{_o.GroupId}-restore-{_o.DispatcherId}", "dispatcher-restore-" + _o.DispatcherId);
        config.EnablePartitionEof = true;
        using var reader = new ConsumerBuilder<string, byte[]>(config).Build();
        var floors = new long[_resultsPartitions];
        Array.Fill(floors, long.MaxValue);
        foreach (var p in partitions)
        {
            var snapshot = ReadLast(reader, p);
            var start = committed.GetValueOrDefault(p, -1);
            if (snapshot is not null && Problem(reader, snapshot) is { } problem)
            {
                Log.SnapshotIgnored(logger, p, problem);
                snapshot = null;
            }

            restored[p] = (snapshot, start);
            if (snapshot is null || snapshot.Final) continue;
            for (var r = 0; r < Math.Min(_resultsPartitions, snapshot.ResultsPositions.Count); r++) floors[r] = Math.Min(floors[r], snapshot.ResultsPositions[r]);
        }

        var starts = new List<TopicPartitionOffset>();
        for (var r = 0; r < floors.Length; r++)
        {
            if (floors[r] != long.MaxValue) starts.Add(new TopicPartitionOffset(_o.ResultsTopic, r, Math.Max(0, floors[r])));
        }

        decidedSince = ReadResultKeys(reader, starts);
        reader.Close();
        foreach (var (p, (snapshot, start)) in restored)
        {
            Log.Restored(logger, p, snapshot is null ? "no usable snapshot (first owner, or written before this version)" : snapshot.Final ? "final snapshot of a graceful hand-over" : "last snapshot of an owner that stopped without handing over",
                snapshot?.Undecided.Count ?? 0, start, decidedSince.Count);
        }

        return restored;
    }

    /// <summary>The last <paramref name="perPartition"/> keys of every results partition (duplicate command records, a producer's retry).</summary>
    public List<string> ResultsTail(int perPartition)
    {
        if (perPartition == 0) return [];
        var config = _kafka.ConsumerConfig($"{_o.GroupId}-seed-{_o.DispatcherId}", "dispatcher-seed-" + _o.DispatcherId);
        config.EnablePartitionEof = true;
        using var reader = new ConsumerBuilder<string, byte[]>(config).Build();
        var starts = new List<TopicPartitionOffset>();
        try
        {
            for (var p = 0; p < _resultsPartitions; p++)
            {
                var w = reader.QueryWatermarkOffsets(new TopicPartition(_o.ResultsTopic, p), TimeSpan.FromSeconds(5));
                if (w.High.Value > w.Low.Value) starts.Add(new TopicPartitionOffset(_o.ResultsTopic, p, Math.Max(w.Low.Value, w.High.Value - perPartition)));
            }
        }
        catch (KafkaException e)
        {
            Log.SeedIncomplete(logger, _o.ResultsTopic, e.Error.Reason);
        }

        var keys = ReadResultKeys(reader, starts);
        reader.Close();
        return keys;
    }

    private Dictionary<int, long> Committed(IConsumer<string, byte[]> group, IReadOnlyList<int> partitions)
    {
        var result = new Dictionary<int, long>();
        try
        {
            foreach (var tpo in group.Committed(partitions.Select(p => new TopicPartition(_o.CommandsTopic, p)), TimeSpan.FromSeconds(10)))
            {
                if (tpo.Offset.Value >= 0) result[tpo.Partition.Value] = tpo.Offset.Value;
            }
        }
        catch (KafkaException e)
        {
            // Without it every undecided record of the snapshot is kept (the watermark cannot move past them wrongly).
            Log.SeedIncomplete(logger, _o.CommandsTopic, "committed offsets unknown: " + e.Error.Reason);
        }

        return result;
    }

    private PartitionSnapshot? ReadLast(IConsumer<string, byte[]> reader, int partition)
    {
        var tp = new TopicPartition(_o.StateTopic, partition);
        try
        {
            var w = reader.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5));
            if (w.High.Value <= w.Low.Value) return null;
            reader.Assign(new TopicPartitionOffset(tp, w.High.Value - 1));
            var deadline = time.GetTimestamp();
            while (time.GetElapsedTime(deadline) < ReadBudget)
            {
                var cr = reader.Consume(TimeSpan.FromMilliseconds(200));
                if (cr is null) continue;
                if (cr.IsPartitionEOF) return null;
                return FromRecord(_reader!.Deserialize(cr.Message.Value, cr.Message.Value is null, new SerializationContext(MessageComponentType.Value, cr.Topic)));
            }

            Log.SnapshotIgnored(logger, partition, $"not read within {ReadBudget.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is KafkaException or InvalidDataException or Avro.AvroException or InvalidCastException or KeyNotFoundException or SchemaRegistryException or HttpRequestException)
        {
            Log.SnapshotIgnored(logger, partition, e.Message);
        }
        finally
        {
            reader.Unassign();
        }

        return null;
    }

    /// <summary>Why a snapshot cannot describe the commands partition as it is now, or null.</summary>
    private string? Problem(IConsumer<string, byte[]> reader, PartitionSnapshot s)
    {
        if (s.RequestIdEpoch != _o.RequestIdEpoch) return $"written with request id epoch {s.RequestIdEpoch}, this dispatcher has {_o.RequestIdEpoch} (the commands topic was recreated)";
        try
        {
            var w = reader.QueryWatermarkOffsets(new TopicPartition(_o.CommandsTopic, s.Partition), TimeSpan.FromSeconds(5));
            if (s.Next > w.High.Value) return $"it knows records up to offset {s.Next} but the partition ends at {w.High.Value} (the commands topic was recreated? raise Dispatcher:RequestIdEpoch)";
        }
        catch (KafkaException)
        {
            // Unverifiable now: trusted (the epoch matched).
        }

        return null;
    }

    private List<string> ReadResultKeys(IConsumer<string, byte[]> reader, List<TopicPartitionOffset> starts)
    {
        var keys = new List<string>();
        if (starts.Count == 0) return keys;
        var open = starts.Select(s => s.Partition.Value).ToHashSet();
        try
        {
            reader.Assign(starts);
            var budget = time.GetTimestamp();
            while (open.Count > 0 && time.GetElapsedTime(budget) < ReadBudget)
            {
                var cr = reader.Consume(TimeSpan.FromMilliseconds(200));
                if (cr is null) continue;
                if (cr.IsPartitionEOF) open.Remove(cr.Partition.Value);
                else if (cr.Message.Key is not null) keys.Add(cr.Message.Key);
            }

            if (open.Count > 0) Log.SeedIncomplete(logger, _o.ResultsTopic, $"{open.Count} partitions not read to the end within {ReadBudget.TotalSeconds:0} s");
        }
        catch (KafkaException e)
        {
            Log.SeedIncomplete(logger, _o.ResultsTopic, e.Error.Reason);
        }
        finally
        {
            reader.Unassign();
        }

        return keys;
    }

    private GenericRecord ToRecord(PartitionSnapshot s)
    {
        var schema = ContractCodec.DispatcherStateSchema;
        var itemSchema = (Avro.RecordSchema)((Avro.ArraySchema)schema["undecided"].Schema).ItemSchema;
        var r = new GenericRecord(schema);
        r.Add("commands_partition", s.Partition);
        r.Add("request_id_epoch", s.RequestIdEpoch);
        r.Add("watermark", s.Watermark);
        r.Add("next_offset", s.Next);
        r.Add("undecided", s.Undecided.Select(u =>
        {
            var item = new GenericRecord(itemSchema);
            item.Add("offset", u.Offset);
            item.Add("sent_to_session", u.SentTo);
            item.Add("sent_to_connector", u.SentToConnector);
            item.Add("maybe_ran_on_session", u.MaybeRanOn);
            item.Add("resends", u.Resends);
            return (object)item;
        }).ToArray());
        r.Add("results_positions", s.ResultsPositions.Cast<object>().ToArray());
        r.Add("final", s.Final);
        r.Add("dispatcher_id", _o.DispatcherId);
        r.Add("written_time", time.GetUtcNow().UtcDateTime);
        return r;
    }

    private static PartitionSnapshot FromRecord(GenericRecord r) => new(
        (int)r["commands_partition"],
        (int)r["request_id_epoch"],
        (long)r["watermark"],
        (long)r["next_offset"],
        ((IEnumerable<object>)r["undecided"]).Cast<GenericRecord>().Select(u => new UndecidedCommand(
            (long)u["offset"], (long)u["sent_to_session"], u.TryGetValue("sent_to_connector", out var c) ? c as string : null, (long)u["maybe_ran_on_session"], (int)u["resends"])).ToList(),
        ((IEnumerable<object>)r["results_positions"]).Cast<long>().ToList(),
        (bool)r["final"]);
}
