using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>A query's answer in ClickHouse's <c>JSONCompact</c> shape: column names and types, rows, rows read.</summary>
internal sealed record QueryResult(IReadOnlyList<(string Name, string Type)> Columns, IReadOnlyList<JsonElement[]> Rows, long RowsRead, string Json)
{
    public int Column(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Name == name) return i;
        }

        throw new KeyNotFoundException($"The result has no column '{name}' (columns: {string.Join(", ", Columns.Select(c => c.Name))}).");
    }
}

/// <summary>
/// Runs panel SQL over ClickHouse's HTTP interface, read-only: every request carries <c>readonly=2</c> (no writes, no
/// DDL; settings may still be given, as the dashboards user's profile allows) and a time limit.
/// </summary>
internal sealed class ClickHouseQueries(HttpClient http, string user, string password, TimeSpan timeLimit)
{
    public async Task<QueryResult> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)timeLimit.TotalSeconds);
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"?default_format=JSONCompact&output_format_json_quote_64bit_integers=0&readonly=2&max_execution_time={seconds}")
        {
            Content = new StringContent(sql, Encoding.UTF8, "text/plain"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new ClickHouseQueryException($"ClickHouse answered {(int)response.StatusCode}: {body.Trim()}");
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var columns = new List<(string, string)>();
        foreach (var column in root.GetProperty("meta").EnumerateArray())
            columns.Add((column.GetProperty("name").GetString()!, column.GetProperty("type").GetString()!));
        var rows = new List<JsonElement[]>();
        foreach (var row in root.GetProperty("data").EnumerateArray())
        {
            var cells = new JsonElement[columns.Count];
            var i = 0;
            foreach (var cell in row.EnumerateArray()) cells[i++] = cell.Clone();
            rows.Add(cells);
        }

        var rowsRead = root.TryGetProperty("statistics", out var stats) && stats.TryGetProperty("rows_read", out var read) ? read.GetInt64() : -1;
        return new QueryResult(columns, rows, rowsRead, body);
    }
}

internal sealed class ClickHouseQueryException(string message) : Exception(message);
