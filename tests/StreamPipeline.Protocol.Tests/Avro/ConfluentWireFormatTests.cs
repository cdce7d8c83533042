namespace StreamPipeline.Protocol.Tests.Avro;

/// <summary>The Confluent framing, written and read in one place (connector, dispatcher, sink).</summary>
public sealed class ConfluentWireFormatTests
{
    [Theory]
    [InlineData(0x01020304, new byte[] { 0, 1, 2, 3, 4 })]
    [InlineData(258, new byte[] { 0, 0, 0, 1, 2 })]
    [InlineData(-1, new byte[] { 0, 0xFF, 0xFF, 0xFF, 0xFF })]
    public void WriteHeader_MagicByteThenBigEndianSchemaId(int schemaId, byte[] expected)
    {
        var header = new byte[ConfluentWireFormat.HeaderSize];

        ConfluentWireFormat.WriteHeader(header, schemaId);

        Assert.Equal(expected, header);
    }

    [Fact]
    public void TryReadHeader_FramedMessage_SchemaIdAndBody()
    {
        byte[] message = [0, 0, 0, 0x30, 0x39, 7, 8, 9];

        Assert.True(ConfluentWireFormat.TryReadHeader(message, out var schemaId, out var body));

        Assert.Equal(12345, schemaId);
        Assert.Equal(new byte[] { 7, 8, 9 }, body.ToArray());
    }

    [Fact]
    public void TryReadHeader_HeaderOnly_EmptyBody()
    {
        Assert.True(ConfluentWireFormat.TryReadHeader([0, 0, 0, 0, 1], out var schemaId, out var body));

        Assert.Equal(1, schemaId);
        Assert.True(body.IsEmpty);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0, 0, 0, 1 })]
    [InlineData(new byte[] { 1, 0, 0, 0, 1, 2 })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'t', (byte)'y', (byte)'p', (byte)'e' })]
    public void TryReadHeader_TooShortOrNoMagicByte_False(byte[] message)
    {
        Assert.False(ConfluentWireFormat.TryReadHeader(message, out _, out _));
    }

    [Fact]
    public void WriteThenRead_RoundTrips()
    {
        var message = new byte[ConfluentWireFormat.HeaderSize + 2];
        ConfluentWireFormat.WriteHeader(message, int.MaxValue);
        message[^2] = 0x42;

        Assert.True(ConfluentWireFormat.TryReadHeader(message, out var schemaId, out var body));
        Assert.Equal(int.MaxValue, schemaId);
        Assert.Equal(new byte[] { 0x42, 0 }, body.ToArray());
    }
}
