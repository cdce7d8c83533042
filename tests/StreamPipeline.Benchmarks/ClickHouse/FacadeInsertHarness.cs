using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ClickHouse.Driver;
using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.Embedded.ClickHouse.Engine;

namespace StreamPipeline.Benchmarks.ClickHouse;

/// <summary>
/// Insert throughput of the embedded ClickHouse, one run, same rows three ways: (a) chDB's stream insert in-process
/// (the ceiling), (b) the HTTP facade with those RowBinary bytes POSTed uncompressed, (c) ClickHouse.Driver's
/// InsertBinaryAsync of the equivalent rows (its default zstd, and uncompressed). Target: facade >= 80% of raw.
/// <c>dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- clickhouse-insert [--rows N] [--repetitions R] [--raw-chunk BYTES]</c>
/// </summary>
internal sealed class FacadeInsertHarness : IHarness
{
    private static int chunkSize = 1 << 20;
    private const int Agents = 500;
    private const string Columns = "ts, agent_id, cpu, memory, disk, network, bytes_sent";

    public string Name => "clickhouse-insert";

    public string Description => "Rows/s into the embedded ClickHouse: raw chDB stream insert vs the HTTP facade (raw POST, ClickHouse.Driver)";

    public IReadOnlyList<HarnessOption> Options { get; } =
    [
        HarnessOption.Number("--rows", 2_000_000, "rows per insert"),
        HarnessOption.Number("--repetitions", 3, "runs of each way, the median is reported"),
        HarnessOption.Number("--raw-chunk", 1 << 20, "bytes per write of the raw HTTP body"),
    ];

    public async Task<int> RunAsync(HarnessArguments args)
    {
        var rows = args.Number("--rows");
        var repetitions = args.Number("--repetitions");
        chunkSize = args.Number("--raw-chunk");
        var dataPath = Path.Combine(Path.GetTempPath(), "sp-clickhouse-bench-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"Generating {rows:N0} metric rows ({Agents} agents), {repetitions} repetitions, data in {dataPath}");
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var rowBinary = GenerateRowBinary(rows, start);
        var driverRows = GenerateDriverRows(rows, start);
        Console.WriteLine($"RowBinary payload: {rowBinary.Length / 1e6:F1} MB ({(double)rowBinary.Length / rows:F1} B/row)");

        await using var server = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { DataPath = dataPath, MaxServerMemoryBytes = 4L << 30 });
        using var client = new ClickHouseClient(server.ConnectionString);
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("default:"u8.ToArray()));
        await client.ExecuteNonQueryAsync("CREATE DATABASE IF NOT EXISTS bench");

        var modes = new (string Name, Func<string, Task> Insert)[]
        {
            ("(a) chDB stream insert, in-process", table => RawInsertAsync(server, table, rowBinary)),
            ("(b) facade: HTTP POST RowBinary, uncompressed", table => HttpInsertAsync(http, table, rowBinary)),
            ("(c) facade: ClickHouse.Driver InsertBinaryAsync, uncompressed", table => client.InsertBinaryAsync(table, Columns.Split(", "), driverRows, new InsertOptions { Compressor = null, BatchSize = 500_000 })),
            ("(c) facade: ClickHouse.Driver InsertBinaryAsync, zstd (default)", table => client.InsertBinaryAsync(table, Columns.Split(", "), driverRows, new InsertOptions { BatchSize = 500_000 })),
        };
        var results = new List<double>[modes.Length];
        for (var m = 0; m < modes.Length; m++)
        {
            results[m] = [];
        }

        // Interleave the modes so that background merges and page cache affect them alike.
        for (var r = 0; r < repetitions; r++)
        {
            for (var m = 0; m < modes.Length; m++)
            {
                var table = $"bench.metrics_{m}_{r}";
                await client.ExecuteNonQueryAsync($"""
                    CREATE TABLE {table} (ts DateTime64(3), agent_id LowCardinality(String), cpu Float64, memory Float64, disk Float64,
                        network Float64, bytes_sent UInt64) ENGINE = MergeTree ORDER BY (agent_id, ts)
                    """);
                GC.Collect();
                var started = Stopwatch.GetTimestamp();
                await modes[m].Insert(table);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var counted = Convert.ToInt64(await client.ExecuteScalarAsync($"SELECT count() FROM {table}"), CultureInfo.InvariantCulture);
                if (counted != rows)
                {
                    Console.Error.WriteLine($"{modes[m].Name}: counted {counted} rows, expected {rows}");
                    return 1;
                }

                results[m].Add(rows / seconds);
                Console.WriteLine($"  rep {r + 1} {modes[m].Name}: {rows / seconds:N0} rows/s ({seconds:F2} s)");
                await client.ExecuteNonQueryAsync($"DROP TABLE {table} SYNC");
            }
        }

        var raw = Median(results[0]);
        Console.WriteLine();
        Console.WriteLine($"Insert of {rows:N0} rows ({rowBinary.Length / 1e6:F0} MB RowBinary), median of {repetitions}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| mode | median rows/s | MB/s (RowBinary) | vs raw |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        for (var m = 0; m < modes.Length; m++)
        {
            var median = Median(results[m]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {modes[m].Name} | {median:N0} | {median * rowBinary.Length / rows / 1e6:F0} | {median / raw:P0} |"));
        }

        try
        {
            Directory.Delete(dataPath, recursive: true);
        }
        catch (IOException)
        {
            // The engine holds its files until the process exits.
        }

        return 0;
    }

    private static async Task RawInsertAsync(EmbeddedClickHouse server, string table, byte[] data)
    {
        var session = await server.Engine.RentAsync(CancellationToken.None);
        try
        {
            Check(session.BeginInsert(Encoding.UTF8.GetBytes($"INSERT INTO {table} ({Columns})"), "RowBinary"u8, null, out var insert));
            using (insert)
            {
                for (var offset = 0; offset < data.Length; offset += chunkSize)
                {
                    Check(insert!.Append(data.AsSpan(offset, Math.Min(chunkSize, data.Length - offset))));
                }

                Check(insert!.Complete(out _));
            }
        }
        finally
        {
            server.Engine.Return(session);
        }
    }

    private static async Task HttpInsertAsync(HttpClient http, string table, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        using var response = await http.PostAsync("/?query=" + Uri.EscapeDataString($"INSERT INTO {table} ({Columns}) FORMAT RowBinary"), content);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException(await response.Content.ReadAsStringAsync());
        }
    }

    private static void Check(ChDbError? error)
    {
        if (error is not null)
        {
            throw new InvalidOperationException(error.ToString());
        }
    }

    private static byte[] GenerateRowBinary(int rows, DateTime start)
    {
        using var output = new MemoryStream(rows * 64);
        Span<byte> scratch = stackalloc byte[64];
        var startMs = new DateTimeOffset(start).ToUnixTimeMilliseconds();
        for (var i = 0; i < rows; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(scratch, startMs + i);
            output.Write(scratch[..8]);
            var agent = AgentId(i);
            output.WriteByte((byte)agent.Length);
            output.Write(Encoding.ASCII.GetBytes(agent));
            var (cpu, memory, disk, network, bytes) = Values(i);
            BinaryPrimitives.WriteDoubleLittleEndian(scratch, cpu);
            BinaryPrimitives.WriteDoubleLittleEndian(scratch[8..], memory);
            BinaryPrimitives.WriteDoubleLittleEndian(scratch[16..], disk);
            BinaryPrimitives.WriteDoubleLittleEndian(scratch[24..], network);
            BinaryPrimitives.WriteUInt64LittleEndian(scratch[32..], bytes);
            output.Write(scratch[..40]);
        }

        return output.ToArray();
    }

    private static object[][] GenerateDriverRows(int rows, DateTime start)
    {
        var result = new object[rows][];
        for (var i = 0; i < rows; i++)
        {
            var (cpu, memory, disk, network, bytes) = Values(i);
            result[i] = [start.AddMilliseconds(i), AgentId(i), cpu, memory, disk, network, bytes];
        }

        return result;
    }

    private static string AgentId(int i) => "agent-" + (i % Agents).ToString("D5", CultureInfo.InvariantCulture);

    private static (double Cpu, double Memory, double Disk, double Network, ulong Bytes) Values(int i) =>
        (i % 100 * 0.37, 1024.0 + (i % 4096), i % 997 * 1.5, i % 10_000 * 12.25, (ulong)i * 1500);

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

}
