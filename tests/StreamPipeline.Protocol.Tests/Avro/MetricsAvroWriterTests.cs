using System.Buffers;
using System.Buffers.Binary;
using Avro.Generic;

namespace StreamPipeline.Protocol.Tests.Avro;

public sealed class MetricsAvroWriterTests
{
    private const int SchemaId = 0x01020304;

    [Fact]
    public void Write_1000RandomSamples_ByteIdenticalToApacheAvro()
    {
        var random = new Random(20251125);
        var writer = new MetricsAvroWriter(SchemaId);
        for (var i = 0; i < 1000; i++)
        {
            var sample = RandomSamples.Metrics(random);
            var output = new ArrayBufferWriter<byte>();

            writer.Write(sample, output);

            var expected = ApacheAvroReference.Encode(ApacheAvroReference.ToRecord(sample));
            var actual = output.WrittenSpan[ConfluentWireFormat.HeaderSize..].ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"sample {i} differs at byte {expected.AsSpan().CommonPrefixLength(actual)}: expected {Convert.ToHexString(expected)}, got {Convert.ToHexString(actual)}; times {sample.AgentTimeMs} {sample.ReceivedTimeMs}");
        }
    }

    [Fact]
    public void Write_ParsedRealisticFrame_ByteIdenticalToApacheAvro()
    {
        var sample = ParseRealisticFrame();
        var output = new ArrayBufferWriter<byte>();

        new MetricsAvroWriter(SchemaId).Write(sample, output);

        Assert.Equal(ApacheAvroReference.Encode(ApacheAvroReference.ToRecord(sample)), output.WrittenSpan[ConfluentWireFormat.HeaderSize..].ToArray());
    }

    [Fact]
    public void Write_EmptyListsAndNulls_ByteIdenticalToApacheAvro()
    {
        var sample = new MetricsSample { AgentId = "a", UptimeSeconds = 1 };
        var output = new ArrayBufferWriter<byte>();

        new MetricsAvroWriter(SchemaId).Write(sample, output);

        var body = output.WrittenSpan[ConfluentWireFormat.HeaderSize..].ToArray();
        Assert.Equal(ApacheAvroReference.Encode(ApacheAvroReference.ToRecord(sample)), body);
        Assert.Equal([0, 0], body[^2..]); // each empty array is a single 0 block
    }

    [Fact]
    public void Write_Framing_MagicByteThenBigEndianSchemaId()
    {
        var output = new ArrayBufferWriter<byte>();

        var written = new MetricsAvroWriter(SchemaId).Write(new MetricsSample(), output);

        Assert.Equal(output.WrittenCount, written);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, output.WrittenSpan[..5].ToArray());
        Assert.Equal(SchemaId, BinaryPrimitives.ReadInt32BigEndian(output.WrittenSpan[1..]));
    }

    [Fact]
    public void Write_AfterExistingContent_Appends()
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(new byte[] { 9, 9, 9 });
        var writer = new MetricsAvroWriter(7);

        var first = writer.Write(ParseRealisticFrame(), output);
        var second = writer.Write(ParseRealisticFrame(), output);

        Assert.Equal(3 + first + second, output.WrittenCount);
        Assert.True(output.WrittenSpan.Slice(3, first).SequenceEqual(output.WrittenSpan.Slice(3 + first, second)));
    }

    [Fact]
    public void Write_ThenApacheGenericDatumReader_DecodesSameValues()
    {
        var sample = ParseRealisticFrame();
        var output = new ArrayBufferWriter<byte>();
        new MetricsAvroWriter(SchemaId).Write(sample, output);

        var record = ApacheAvroReference.Decode(ApacheAvroReference.MetricsSchema, output.WrittenSpan[ConfluentWireFormat.HeaderSize..].ToArray());

        Assert.Equal("agent-7", record["agent_id"]);
        Assert.Equal(ApacheAvroReference.ToDateTime(1733936600000), record["agent_time"]);
        Assert.Equal(12.73, record["cpu_usage_percent"]);
        Assert.Equal(1843923L, record["uptime_seconds"]);
        Assert.Equal(0.52, record["load_1m"]);
        var disks = (object[])record["disks"];
        Assert.Equal("/var/lib/postgresql", ((GenericRecord)disks[1])["mountpoint"]);
        var nics = (object[])record["network_interfaces"];
        Assert.Equal("fe80::42:acff:fe11:1", ((GenericRecord)nics[1])["ipv6"]);
    }

    [Fact]
    public void Read_WhatWriteWrote_SameSample()
    {
        var random = new Random(7);
        var writer = new MetricsAvroWriter(SchemaId);
        var decoded = new MetricsSample();
        for (var i = 0; i < 200; i++)
        {
            var sample = RandomSamples.Metrics(random);
            var output = new ArrayBufferWriter<byte>();
            writer.Write(sample, output);

            Assert.Equal(SchemaId, MetricsAvroReader.Read(output.WrittenSpan, decoded));

            var again = new ArrayBufferWriter<byte>();
            writer.Write(decoded, again);
            Assert.True(output.WrittenSpan.SequenceEqual(again.WrittenSpan), $"sample {i} did not round-trip");
            Assert.Equal(sample.AgentId, decoded.AgentId);
            Assert.Equal(sample.Disks.Count, decoded.Disks.Count);
        }
    }

    [Fact]
    public void Read_TruncatedMessage_InvalidDataException()
    {
        var output = new ArrayBufferWriter<byte>();
        new MetricsAvroWriter(SchemaId).Write(ParseRealisticFrame(), output);

        Assert.Throws<InvalidDataException>(() => MetricsAvroReader.Read(output.WrittenSpan[..^3], new MetricsSample()));
        Assert.Throws<InvalidDataException>(() => MetricsAvroReader.Read([1, 0, 0, 0, 1], new MetricsSample()));
    }

    [Fact]
    public void Write_SteadyState_AllocatesNothing()
    {
        var sample = ParseRealisticFrame();
        var writer = new MetricsAvroWriter(SchemaId);
        var output = new ArrayBufferWriter<byte>(4096);
        writer.Write(sample, output);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            output.ResetWrittenCount();
            writer.Write(sample, output);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static MetricsSample ParseRealisticFrame()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8(TestFrames.RealisticMetricsFrame), out var envelope, out _));
        var sample = new MetricsSample
        {
            AgentId = "agent-7",
            ConnectorId = "edge-1",
            SessionId = "5f0c9a4e-3f7b-4d8e-9a51-0c2f1e6b7d93",
            AgentTimeMs = envelope.Timestamp!.Value,
            ReceivedTimeMs = 1733936600123,
        };
        Assert.True(new MetricsParser().TryParse(envelope.Payload, sample, out var error), error.ToString());
        return sample;
    }
}
