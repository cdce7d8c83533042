using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.DeadLetters;

/// <summary>A record the sink could not decode, kept with its batch until the batch is inserted.</summary>
/// <param name="Reason">Machine-readable: <c>bad_magic_byte</c>, <c>unknown_schema_id</c>, <c>invalid_avro</c> or <c>batch_rejected</c> (ClickHouse refused the batch's rows).</param>
/// <param name="Error">For people: what exactly was wrong.</param>
/// <param name="AgentId">The agent it came from when the topic is keyed by agent id (metrics, presence), else null.</param>
internal sealed record DeadLetter(TopicPartitionOffset Source, byte[]? Key, byte[]? Value, string Reason, string Error, string? AgentId = null);

/// <summary>
/// Publishes dead letters (raw key and value, the reason in headers <c>reason</c>, <c>error</c>, <c>source_topic</c>,
/// <c>source_partition</c>, <c>source_offset</c>, and <c>agent_id</c> when known) before the batch that skipped them is
/// committed. A replayed batch publishes its dead letters again: the dead-letter topic is at-least-once, keyed by source
/// offset in the headers; the <c>dead_letters</c> table, written with the batch's token, holds each once.
/// </summary>
internal sealed class DeadLetterPublisher(IProducer<byte[]?, byte[]?> producer, string topic) : IDisposable
{
    public string Topic => topic;

    /// <summary>Publishes every letter; returns where each one landed, in the same order.</summary>
    public async Task<TopicPartitionOffset[]> PublishAsync(IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken)
    {
        var pending = new Task<DeliveryResult<byte[]?, byte[]?>>[letters.Count];
        for (var i = 0; i < letters.Count; i++)
        {
            var letter = letters[i];
            var headers = new Headers
            {
                { DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(letter.Reason) },
                { DeadLetterHeaders.Error, Encoding.UTF8.GetBytes(letter.Error) },
                { DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(letter.Source.Topic) },
                { DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(letter.Source.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
                { DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(letter.Source.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
            };
            if (letter.AgentId is { } agentId) headers.Add(DeadLetterHeaders.AgentId, Encoding.UTF8.GetBytes(agentId));
            pending[i] = producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = letter.Key, Value = letter.Value, Headers = headers }, cancellationToken);
        }

        var results = await Task.WhenAll(pending);
        var positions = new TopicPartitionOffset[results.Length];
        for (var i = 0; i < results.Length; i++) positions[i] = results[i].TopicPartitionOffset;
        return positions;
    }

    public void Dispose()
    {
        producer.Flush(TimeSpan.FromSeconds(5));
        producer.Dispose();
    }
}
