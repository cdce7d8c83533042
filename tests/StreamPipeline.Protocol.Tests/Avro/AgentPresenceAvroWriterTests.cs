using System.Buffers;
using Avro.Generic;

namespace StreamPipeline.Protocol.Tests.Avro;

public sealed class AgentPresenceAvroWriterTests
{
    [Fact]
    public void Write_500RandomEvents_ByteIdenticalToApacheAvro()
    {
        var random = new Random(42);
        var writer = new AgentPresenceAvroWriter(3);
        for (var i = 0; i < 500; i++)
        {
            var presence = RandomSamples.Presence(random);
            var output = new ArrayBufferWriter<byte>();

            writer.Write(presence, output);

            var expected = ApacheAvroReference.Encode(ApacheAvroReference.ToRecord(presence));
            Assert.True(expected.AsSpan().SequenceEqual(output.WrittenSpan[ConfluentWireFormat.HeaderSize..]), $"event {i} differs");
        }
    }

    [Theory]
    [InlineData(PresenceStatus.Connected, "CONNECTED")]
    [InlineData(PresenceStatus.Disconnected, "DISCONNECTED")]
    public void Write_Status_DecodesAsSchemaSymbol(PresenceStatus status, string symbol)
    {
        var presence = new AgentPresence
        {
            AgentId = "agent-1",
            ConnectorId = "edge-2",
            SessionId = "s-9",
            Epoch = 1733936600000,
            Status = status,
            Reason = "replaced by newer session",
            RemoteAddress = "203.0.113.7:51234",
            EventTimeMs = 1733936601000,
            ConnectedTimeMs = 1733936600000,
        };
        var output = new ArrayBufferWriter<byte>();

        new AgentPresenceAvroWriter(12).Write(presence, output);

        var record = ApacheAvroReference.Decode(ApacheAvroReference.PresenceSchema, output.WrittenSpan[ConfluentWireFormat.HeaderSize..].ToArray());
        Assert.Equal(symbol, ((GenericEnum)record["status"]).Value);
        Assert.Equal(1733936600000L, record["epoch"]);
        Assert.Equal("replaced by newer session", record["reason"]);
        Assert.True(ConfluentWireFormat.TryReadHeader(output.WrittenSpan, out var schemaId, out _));
        Assert.Equal(12, schemaId);
    }

    [Fact]
    public void Read_WhatWriteWrote_SameEvent()
    {
        var random = new Random(9);
        for (var i = 0; i < 100; i++)
        {
            var presence = RandomSamples.Presence(random);
            var output = new ArrayBufferWriter<byte>();
            new AgentPresenceAvroWriter(5).Write(presence, output);

            var decoded = AgentPresenceAvroReader.Read(output.WrittenSpan, out var schemaId);

            Assert.Equal(5, schemaId);
            Assert.Equal(presence.AgentId, decoded.AgentId);
            Assert.Equal(presence.Epoch, decoded.Epoch);
            Assert.Equal(presence.Status, decoded.Status);
            Assert.Equal(presence.RemoteAddress, decoded.RemoteAddress);
            Assert.Equal(presence.ConnectedTimeMs, decoded.ConnectedTimeMs);
        }
    }

    [Fact]
    public void Write_UndefinedStatus_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentPresenceAvroWriter(1).Write(new AgentPresence { Status = (PresenceStatus)7 }, new ArrayBufferWriter<byte>()));
    }
}
