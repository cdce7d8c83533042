using System.Globalization;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>Batches are bounded in bytes, not only rows (issue 10, item 3): 50,000 records of ~1 MB were gigabytes per partition.</summary>
[Collection(SinkCollection.Name)]
public sealed class BatchBytesTests(SinkFixture fixture)
{
    [Fact]
    public async Task Sink_LargeRecords_BatchesCloseAtBatchMaxBytes()
    {
        var topics = await fixture.CreateTopicsAsync("bytes", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("bytes");
        const int records = 40;
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < records; i++)
            {
                // ~2,000 disks: about 120 KB of RowBinary per record.
                var sample = SampleData.Metrics(4, i);
                for (var d = 0; d < 2_000; d++)
                {
                    var disk = sample.Disks.Add();
                    disk.Device.Set("/dev/nvme" + d.ToString(CultureInfo.InvariantCulture));
                    disk.Mountpoint.Set("/srv/volume-" + d.ToString(CultureInfo.InvariantCulture));
                    disk.Fstype.Set("ext4");
                    disk.TotalGb = 100;
                    disk.UsedGb = d % 100;
                    disk.UsagePercent = d % 100;
                }

                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
            }
        }

        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:BatchMaxBytes"] = (1 << 20).ToString(CultureInfo.InvariantCulture);
        settings["Sink:BatchMaxDelay"] = "00:00:05";
        await using (await InProcessSink.StartAsync(fixture, settings))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", records, TimeSpan.FromSeconds(60));
        }

        var perDiskRow = await fixture.CountAsync($"SELECT max(cnt) FROM (SELECT kafka_offset, count() AS cnt FROM {db}.metrics_disks GROUP BY kafka_offset)");
        Assert.True(perDiskRow >= 2_000, $"each record should carry its 2,000+ disks, got {perDiskRow}");
        var largest = await fixture.CountAsync($"SELECT max(last_offset - first_offset + 1) FROM {db}.sink_batches");
        var batches = await fixture.CountAsync($"SELECT count() FROM {db}.sink_batches");
        // 1 MiB / ~120 KB: at most 9 records, the one crossing the bound included.
        Assert.InRange(largest, 1ul, 10ul);
        Assert.True(batches >= 4, $"40 records of ~120 KB under a 1 MiB bound make at least 4 batches, got {batches}");
    }
}
