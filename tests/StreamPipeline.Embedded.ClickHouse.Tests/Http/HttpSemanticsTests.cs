using System.Globalization;
using System.Net;
using System.Text;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Http;

/// <summary>ClickHouse HTTP interface behaviours that the driver does not exercise, through a plain HttpClient.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class HttpSemanticsTests(ClickHouseFixture fixture)
{
    [Fact]
    public async Task Post_QueryParameterAndBody_ConcatenatesThem()
    {
        using var http = RawHttp.Create(fixture);

        using var response = await http.PostAsync("/?query=" + Uri.EscapeDataString("SELECT 1 +"), new StringContent("2"));

        Assert.Equal("3\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_QueryIdGivenOrNot_EchoedInHeaders()
    {
        using var http = RawHttp.Create(fixture);

        using var given = await http.GetAsync("/?query_id=my-query-1&query=SELECT%201");
        using var generated = await http.GetAsync("/?query=SELECT%201");

        Assert.Equal("my-query-1", given.Headers.GetValues("X-ClickHouse-Query-Id").Single());
        Assert.True(Guid.TryParse(generated.Headers.GetValues("X-ClickHouse-Query-Id").Single(), out _));
        Assert.Equal("UTC", given.Headers.GetValues("X-ClickHouse-Timezone").Single());
        Assert.Contains("\"read_rows\":\"1\"", given.Headers.GetValues("X-ClickHouse-Summary").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_DefaultFormatAndFormatClause_SetBodyAndFormatHeader()
    {
        using var http = RawHttp.Create(fixture);

        using var byParameter = await http.GetAsync("/?default_format=JSONEachRow&query=" + Uri.EscapeDataString("SELECT 1 AS x"));
        using var byClause = await http.GetAsync("/?default_format=JSONEachRow&query=" + Uri.EscapeDataString("SELECT 1 AS x FORMAT CSVWithNames"));

        Assert.Equal("{\"x\":1}\n", await byParameter.Content.ReadAsStringAsync());
        Assert.Equal("JSONEachRow", byParameter.Headers.GetValues("X-ClickHouse-Format").Single());
        Assert.Equal("\"x\"\n1\n", await byClause.Content.ReadAsStringAsync());
        Assert.Equal("CSVWithNames", byClause.Headers.GetValues("X-ClickHouse-Format").Single());
    }

    [Fact]
    public async Task Get_UrlParameters_BindToQuery()
    {
        using var http = RawHttp.Create(fixture);

        var text = await http.GetStringAsync("/?param_n=5&param_s=" + Uri.EscapeDataString("a b") + "&query=" + Uri.EscapeDataString("SELECT {n:UInt8} * 2, {s:String}"));

        Assert.Equal("10\ta b\n", text);
    }

    [Fact]
    public async Task Post_InsertFormatsWithDataInBody_AllRowsArrive()
    {
        var db = await fixture.CreateDatabaseAsync("formats");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id");
        using var http = RawHttp.Create(fixture);

        await PostOkAsync(http, "/", $"INSERT INTO {db}.t FORMAT TSV\n1\ta\n");
        await PostOkAsync(http, "/", $"INSERT INTO {db}.t (id, s) FORMAT CSV\n2,\"b,c\"\n");
        await PostOkAsync(http, "/", $"INSERT INTO {db}.t FORMAT JSONEachRow {{\"id\":3,\"s\":\"d\"}}\n");
        await PostOkAsync(http, "/", $"INSERT INTO {db}.t VALUES (4, 'e'), (5, 'format')");
        await PostOkAsync(http, "/?query=" + Uri.EscapeDataString($"INSERT INTO {db}.t (id, s) SETTINGS input_format_tsv_empty_as_default = 1 FORMAT TabSeparated"), "6\tf\n");
        await PostOkAsync(http, "/", $"INSERT INTO {db}.t SELECT 7, 'g'");

        Assert.Equal("1\ta\n2\tb,c\n3\td\n4\te\n5\tformat\n6\tf\n7\tg\n", await http.GetStringAsync("/?query=" + Uri.EscapeDataString($"SELECT id, s FROM {db}.t ORDER BY id")));
    }

    [Fact]
    public async Task Post_RowBinaryWithBlankLinesInData_InsertsEveryByte()
    {
        var db = await fixture.CreateDatabaseAsync("rowbinary");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id");
        using var data = new MemoryStream();
        data.Write(Encoding.UTF8.GetBytes($"INSERT INTO {db}.t (id, s) FORMAT RowBinary\n"));
        using (var writer = new BinaryWriter(data, Encoding.UTF8, leaveOpen: true))
        {
            for (uint i = 0; i < 3000; i++)
            {
                writer.Write(i);
                writer.Write("\n\nrow " + i.ToString(CultureInfo.InvariantCulture) + "\n\n"); // 7-bit length prefix = ClickHouse varint
            }
        }

        using var http = RawHttp.Create(fixture);
        using var response = await http.PostAsync("/", new ByteArrayContent(data.ToArray()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("3000\t3000\n", await http.GetStringAsync("/?query=" + Uri.EscapeDataString($"SELECT count(), countIf(s LIKE '\\n\\nrow %\\n\\n') FROM {db}.t")));
    }

    [Fact]
    public async Task Get_LargeResult_StreamsEveryRow()
    {
        using var http = RawHttp.Create(fixture);

        using var response = await http.GetAsync("/?query=" + Uri.EscapeDataString("SELECT number FROM numbers(3000000)"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long count = 0;
        long last = -1;
        while (await reader.ReadLineAsync() is { } line)
        {
            last = long.Parse(line, CultureInfo.InvariantCulture);
            count++;
        }

        Assert.Equal(3_000_000, count);
        Assert.Equal(2_999_999, last);
        Assert.Null(response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Get_LargeResultWithHeaderFormat_SendsHeaderOnce()
    {
        using var http = RawHttp.Create(fixture);

        var text = await http.GetStringAsync("/?query=" + Uri.EscapeDataString("SELECT number FROM numbers(300000) FORMAT TSVWithNamesAndTypes"));

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(300002, lines.Length);
        Assert.Equal(["number", "UInt64", "0"], lines[..3]);
        Assert.Equal("299999", lines[^1]);
    }

    [Fact]
    public async Task Get_LargeResultAsJson_IsOneDocument()
    {
        using var http = RawHttp.Create(fixture);

        var text = await http.GetStringAsync("/?default_format=JSON&query=" + Uri.EscapeDataString("SELECT number FROM numbers(200000)"));

        using var json = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(200000, json.RootElement.GetProperty("data").GetArrayLength());
        Assert.Equal(200000, json.RootElement.GetProperty("rows").GetInt32());
    }

    [Fact]
    public async Task Get_ErrorAfterRowsStreamed_CutsResponse()
    {
        using var http = RawHttp.Create(fixture);

        using var response = await http.GetAsync("/?query=" + Uri.EscapeDataString("SELECT throwIf(number = 2000000) FROM numbers(3000000)"), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];

        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        });
        await BadInputTests.AssertStillServingAsync(http);
    }

    [Fact]
    public async Task Get_ErrorInFirstBlock_ReturnsErrorStatus()
    {
        using var http = RawHttp.Create(fixture);

        using var response = await http.GetAsync("/?query=" + Uri.EscapeDataString("SELECT throwIf(number = 3) FROM numbers(10)"));

        await BadInputTests.AssertClickHouseErrorAsync(response, HttpStatusCode.InternalServerError, 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO");
    }

    [Fact]
    public async Task Get_UnknownSettingParameter_Returns404WithCode115()
    {
        using var http = RawHttp.Create(fixture);

        using var response = await http.GetAsync("/?no_such_setting=1&query=SELECT%201");

        await BadInputTests.AssertClickHouseErrorAsync(response, HttpStatusCode.NotFound, 115, "UNKNOWN_SETTING");
        await BadInputTests.AssertStillServingAsync(http);
    }

    private static async Task PostOkAsync(HttpClient http, string url, string body)
    {
        using var response = await http.PostAsync(url, new StringContent(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{body}: {text}");
    }
}
