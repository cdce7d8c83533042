using System.Buffers;
using Avro.IO;

namespace StreamPipeline.Protocol.Tests.Avro;

/// <summary>The one Avro span reader (Protocol's readers and the sink's decoder), against Apache.Avro's encoder as the reference.</summary>
public sealed class AvroSpanReaderTests
{
    private static readonly long[] Longs = [0, 1, -1, 63, -64, 64, -65, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, long.MaxValue, long.MinValue];

    [Fact]
    public void Read_ValuesApacheAvroEncoded_ReadsThemBack()
    {
        var random = new Random(10);
        var longs = Longs.Concat(Enumerable.Range(0, 200).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))).ToArray();
        var bytes = Encode(e =>
        {
            foreach (var value in longs) e.WriteLong(value);
            e.WriteInt(int.MinValue);
            e.WriteDouble(-1.5e300);
            e.WriteString("zürich ✓");
            e.WriteBytes([1, 2, 3]);
            e.WriteUnionIndex(0);
            e.WriteUnionIndex(1);
            e.WriteDouble(0.25);
            e.WriteUnionIndex(1);
            e.WriteLong(-7);
            e.WriteUnionIndex(1);
            e.WriteString("x");
            e.WriteUnionIndex(0);
        });

        var reader = new AvroSpanReader(bytes);

        foreach (var value in longs) Assert.Equal(value, reader.ReadLong());
        Assert.Equal(int.MinValue, reader.ReadInt());
        Assert.Equal(-1.5e300, reader.ReadDouble());
        Assert.Equal("zürich ✓"u8.ToArray(), reader.ReadString().ToArray());
        Assert.Equal(new byte[] { 1, 2, 3 }, reader.ReadBytes().ToArray());
        Assert.False(reader.ReadNullableDouble(out _));
        Assert.True(reader.ReadNullableDouble(out var d));
        Assert.Equal(0.25, d);
        Assert.True(reader.ReadNullableLong(out var l));
        Assert.Equal(-7, l);
        Assert.Equal("x"u8.ToArray(), reader.ReadNullableString().ToArray());
        Assert.True(reader.ReadNullableString().IsEmpty);
        Assert.Null(reader.Error);
        Assert.True(reader.End);
    }

    [Fact]
    public void Read_EveryTruncation_SetsAnErrorAndNeverThrows()
    {
        var bytes = Encode(e =>
        {
            e.WriteLong(long.MinValue);
            e.WriteDouble(3.5);
            e.WriteString("abcdef");
            e.WriteUnionIndex(1);
            e.WriteLong(300);
        });

        for (var length = 0; length < bytes.Length; length++)
        {
            var reader = new AvroSpanReader(bytes.AsSpan(0, length));
            reader.ReadLong();
            reader.ReadDouble();
            reader.ReadString();
            reader.ReadNullableLong(out _);

            Assert.NotNull(reader.Error);
            Assert.Contains("truncated", reader.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Error_IsSticky_FirstCauseKeptAndLaterReadsReturnDefaults()
    {
        byte[] bytes = [0x04, 0xFF, 0xFE, 0x02]; // a 2-byte string that is not UTF-8, then the long 1

        var reader = new AvroSpanReader(bytes);

        Assert.True(reader.ReadString().IsEmpty);
        Assert.Equal("An Avro string is not valid UTF-8.", reader.Error);
        Assert.Equal(0, reader.ReadLong());
        reader.Fail("later");
        Assert.Equal("An Avro string is not valid UTF-8.", reader.Error);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, "longer than 10 bytes")]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x10 }, "int out of range")] // 2^31 zig-zagged: ReadInt
    [InlineData(new byte[] { 0x04 }, "Union branch")] // branch 2 of ["null","double"]
    [InlineData(new byte[] { 0x01 }, "Negative Avro string length")]
    public void Read_CorruptValue_NamesWhatIsWrong(byte[] bytes, string expected)
    {
        var reader = new AvroSpanReader(bytes);

        if (expected.StartsWith("int", StringComparison.Ordinal)) reader.ReadInt();
        else if (expected.StartsWith("Union", StringComparison.Ordinal)) reader.ReadNullableDouble(out _);
        else if (expected.StartsWith("Negative", StringComparison.Ordinal)) reader.ReadString();
        else reader.ReadLong();

        Assert.Contains(expected, reader.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadArrayBlockCount_NegativeCount_SkipsTheBlockSize()
    {
        byte[] bytes = [0x03, 0x04, 0x02, 0x04, 0x00]; // count -2, block size 2 bytes, items 1 and 2, end

        var reader = new AvroSpanReader(bytes);

        Assert.Equal(2, reader.ReadArrayBlockCount());
        Assert.Equal(1, reader.ReadLong());
        Assert.Equal(2, reader.ReadLong());
        Assert.Equal(0, reader.ReadArrayBlockCount());
        Assert.Null(reader.Error);
        Assert.True(reader.End);
    }

    [Fact]
    public void ReadArrayBlockCount_MoreItemsThanBytesLeft_Error()
    {
        // Never size anything from network input: a count no record this short can hold is refused.
        var reader = new AvroSpanReader([0xC8, 0x01, 0x00]); // 100 items, 1 byte left

        Assert.Equal(0, reader.ReadArrayBlockCount());
        Assert.NotNull(reader.Error);
    }

    [Fact]
    public void ThrowIfError_AfterAnError_InvalidDataExceptionWithTheError()
    {
        var ok = new AvroSpanReader([0x02]);
        ok.ReadLong();
        ok.ThrowIfError();

        var e = Assert.Throws<InvalidDataException>(() =>
        {
            var broken = new AvroSpanReader([]);
            broken.ReadDouble();
            broken.ThrowIfError();
        });
        Assert.Equal("Avro data ends in the middle of a double (truncated record).", e.Message);
    }

    [Fact]
    public void Read_GoodAndCorruptRecords_AllocatesNothing()
    {
        var good = Encode(e =>
        {
            e.WriteString("agent-1");
            e.WriteLong(1_733_936_600_000);
            e.WriteUnionIndex(1);
            e.WriteDouble(0.5);
        });
        var corrupt = good.AsSpan(0, good.Length - 3).ToArray();
        ReadRecord(good);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            ReadRecord(good);
            ReadRecord(corrupt);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static bool ReadRecord(byte[] bytes)
        {
            var reader = new AvroSpanReader(bytes);
            reader.ReadString();
            reader.ReadLong();
            reader.ReadNullableDouble(out _);
            return reader.Error is null && reader.End;
        }
    }

    [Fact]
    public void MetricsAvroReader_EveryTruncation_InvalidDataException()
    {
        var output = new ArrayBufferWriter<byte>();
        new MetricsAvroWriter(3).Write(RandomSamples.Metrics(new Random(4)), output);
        var message = output.WrittenSpan.ToArray();

        for (var length = 0; length < message.Length; length++)
        {
            var truncated = message.AsSpan(0, length).ToArray();
            Assert.Throws<InvalidDataException>(() => MetricsAvroReader.Read(truncated, new MetricsSample()));
        }
    }

    [Fact]
    public void AgentPresenceAvroReader_UnknownStatusOrBytesLeftOver_InvalidDataException()
    {
        var output = new ArrayBufferWriter<byte>();
        new AgentPresenceAvroWriter(3).Write(RandomSamples.Presence(new Random(5)), output);
        var message = output.WrittenSpan.ToArray();
        var trailing = message.Append((byte)0).ToArray();

        var left = Assert.Throws<InvalidDataException>(() => AgentPresenceAvroReader.Read(trailing, out _));
        Assert.Contains("Bytes left over", left.Message, StringComparison.Ordinal);

        var status = new AgentPresence { AgentId = "a", ConnectorId = "c", SessionId = "s", Status = PresenceStatus.Disconnected };
        output.ResetWrittenCount();
        new AgentPresenceAvroWriter(3).Write(status, output);
        var bad = output.WrittenSpan.ToArray();
        var statusAt = ConfluentWireFormat.HeaderSize + 3 * 2 + 1; // three 1-byte strings, epoch 0 (1 byte)
        Assert.Equal(0x02, bad[statusAt]); // symbol 1, zig-zagged
        bad[statusAt] = 0x04;
        var unknown = Assert.Throws<InvalidDataException>(() => AgentPresenceAvroReader.Read(bad, out _));
        Assert.Contains("PresenceStatus symbol 2", unknown.Message, StringComparison.Ordinal);
    }

    private static byte[] Encode(Action<BinaryEncoder> write)
    {
        using var stream = new MemoryStream();
        write(new BinaryEncoder(stream));
        return stream.ToArray();
    }
}
