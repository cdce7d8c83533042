using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ClickHouse.Driver;
using ClickHouse.Driver.Compression;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Http;

/// <summary>Every body coding the driver or a plain HTTP client may use, in both directions.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class CompressionTests(ClickHouseFixture fixture)
{
    public static TheoryData<string> Codings => ["gzip", "deflate", "br", "zstd", "lz4"];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExecuteReaderAsync_DriverCompressionOnOrOff_ReturnsRows(bool compression)
    {
        using var client = new ClickHouseClient(fixture.Server.ConnectionString + ";Compression=" + compression.ToString(CultureInfo.InvariantCulture));

        using var reader = await client.ExecuteReaderAsync("SELECT number, toString(number) FROM numbers(100000)");
        var count = 0;
        while (reader.Read())
        {
            Assert.Equal((ulong)count, reader.GetFieldValue<ulong>(0));
            count++;
        }

        Assert.Equal(100000, count);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("lz4")]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("none")]
    public async Task InsertBinaryAsync_DriverCompressor_InsertsAllRows(string compressor)
    {
        var db = await fixture.CreateDatabaseAsync("codec");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt64, s String) ENGINE = MergeTree ORDER BY id");
        IClickHouseCompressor? chosen = compressor switch
        {
            "zstd" => ZstdCompressor.Default,
            "lz4" => Lz4Compressor.Default,
            "gzip" => GZipCompressor.Default,
            "br" => BrotliCompressor.Default,
            _ => null,
        };
        var rows = Enumerable.Range(0, 20_000).Select(i => new object[] { (ulong)i, "row\n\nwith blank lines " + i.ToString(CultureInfo.InvariantCulture) });

        await fixture.Client.InsertBinaryAsync($"{db}.t", ["id", "s"], rows, new InsertOptions { Compressor = chosen });

        Assert.Equal(20_000ul, await fixture.CountAsync($"{db}.t"));
    }

    [Theory]
    [MemberData(nameof(Codings))]
    public async Task Post_CompressedRequestBody_InsertsRows(string coding)
    {
        var db = await fixture.CreateDatabaseAsync("rawin");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id");
        var body = new StringBuilder($"INSERT INTO {db}.t FORMAT TSV\n");
        for (var i = 0; i < 1000; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $"{i}\tvalue {i}\n");
        }

        using var http = RawHttp.Create(fixture);
        using var content = new ByteArrayContent(Encode(coding, Encoding.UTF8.GetBytes(body.ToString())));
        content.Headers.ContentEncoding.Add(coding);
        using var response = await http.PostAsync("/", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"written_rows\":\"1000\"", response.Headers.GetValues("X-ClickHouse-Summary").Single(), StringComparison.Ordinal);
        Assert.Equal(1000ul, await fixture.CountAsync($"{db}.t"));
    }

    [Theory]
    [MemberData(nameof(Codings))]
    public async Task Get_EnableHttpCompressionWithAcceptEncoding_ReturnsEncodedBody(string coding)
    {
        using var http = RawHttp.Create(fixture);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/?enable_http_compression=1&query=" + Uri.EscapeDataString("SELECT number FROM numbers(200000)"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(coding));
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(coding, response.Content.Headers.ContentEncoding.Single());
        var text = Encoding.UTF8.GetString(Decode(coding, await response.Content.ReadAsByteArrayAsync()));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200000, lines.Length);
        Assert.Equal("199999", lines[^1]);
    }

    [Fact]
    public async Task Get_AcceptEncodingWithoutEnableHttpCompression_ReturnsPlainBody()
    {
        using var http = RawHttp.Create(fixture);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/?query=" + Uri.EscapeDataString("SELECT 42"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var response = await http.SendAsync(request);

        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal("42\n", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData((byte)0x82)]
    [InlineData((byte)0x90)]
    [InlineData((byte)0x02)]
    public async Task Post_NativeCompressedBodyWithDecompress_InsertsRows(byte method)
    {
        var db = await fixture.CreateDatabaseAsync("native");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt32) ENGINE = MergeTree ORDER BY id");
        var data = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, 500)) + "\n");

        using var http = RawHttp.Create(fixture);
        using var content = new ByteArrayContent(NativeBlock(method, data));
        using var response = await http.PostAsync("/?decompress=1&query=" + Uri.EscapeDataString($"INSERT INTO {db}.t FORMAT TSV"), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(500ul, await fixture.CountAsync($"{db}.t"));
    }

    internal static byte[] Encode(string coding, byte[] data)
    {
        using var output = new MemoryStream();
        using (var encoder = coding switch
        {
            "gzip" => (Stream)new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "deflate" => new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "br" => new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "zstd" => new CompressionStream(output, 3, leaveOpen: true),
            "lz4" => LZ4Stream.Encode(output, LZ4Level.L00_FAST, leaveOpen: true),
            _ => throw new ArgumentOutOfRangeException(nameof(coding)),
        })
        {
            encoder.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Decode(string coding, byte[] data)
    {
        using var input = new MemoryStream(data);
        using var decoder = coding switch
        {
            "gzip" => (Stream)new GZipStream(input, CompressionMode.Decompress),
            "deflate" => new ZLibStream(input, CompressionMode.Decompress),
            "br" => new BrotliStream(input, CompressionMode.Decompress),
            "zstd" => new DecompressionStream(input),
            "lz4" => LZ4Stream.Decode(input),
            _ => throw new ArgumentOutOfRangeException(nameof(coding)),
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    private static byte[] NativeBlock(byte method, byte[] data)
    {
        byte[] payload = method switch
        {
            0x82 => EncodeLz4(data),
            0x90 => new Compressor(3).Wrap(data).ToArray(),
            _ => data,
        };
        var block = new byte[16 + 9 + payload.Length];
        block[16] = method;
        BitConverter.TryWriteBytes(block.AsSpan(17), payload.Length + 9);
        BitConverter.TryWriteBytes(block.AsSpan(21), data.Length);
        payload.CopyTo(block, 25);
        return block;

        static byte[] EncodeLz4(byte[] data)
        {
            var target = new byte[LZ4Codec.MaximumOutputSize(data.Length)];
            var n = LZ4Codec.Encode(data, target);
            return target[..n];
        }
    }
}

/// <summary>A plain HttpClient with the fixture's credentials (basic auth) and no automatic decompression.</summary>
internal static class RawHttp
{
    public static HttpClient Create(ClickHouseFixture fixture, string? password = null)
    {
        var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = fixture.Server.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("default:" + (password ?? ClickHouseFixture.Password))));
        return http;
    }
}
