using ClickHouse.Driver;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace StreamPipeline.Sink.Loading;

/// <summary>Which ClickHouse failures are worth retrying, and what an operator must do about the others.</summary>
internal static class ClickHouseErrors
{
    /// <summary>
    /// Server codes that no retry can fix: the tables do not match what the sink writes, or the sink may not write.
    /// Anything else from the server (memory limit, too many parts, timeouts, network) is retried.
    /// </summary>
    private static readonly Dictionary<int, string> Fatal = new()
    {
        [8] = "THERE_IS_NO_COLUMN",
        [10] = "NOT_FOUND_COLUMN_IN_BLOCK",
        [16] = "NO_SUCH_COLUMN_IN_TABLE",
        [27] = "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        [33] = "CANNOT_READ_ALL_DATA",
        [36] = "BAD_ARGUMENTS",
        [44] = "ILLEGAL_COLUMN",
        [47] = "UNKNOWN_IDENTIFIER",
        [48] = "NOT_IMPLEMENTED",
        [53] = "TYPE_MISMATCH",
        [60] = "UNKNOWN_TABLE",
        [62] = "SYNTAX_ERROR",
        [70] = "CANNOT_CONVERT_TYPE",
        [73] = "UNKNOWN_FORMAT",
        [81] = "UNKNOWN_DATABASE",
        [115] = "UNKNOWN_SETTING",
        [117] = "INCORRECT_DATA",
        [192] = "UNKNOWN_USER",
        [194] = "REQUIRED_PASSWORD",
        [497] = "ACCESS_DENIED",
        [516] = "AUTHENTICATION_FAILED",
    };

    /// <summary>
    /// Server codes that refuse one batch for its data, which every retry of that same batch (same rows, same token)
    /// would meet again: the batch is dead-lettered and the partition moves on, instead of holding an insert slot forever.
    /// 252 only for "too many partitions for single INSERT block"; "too many parts" in the table is merges falling
    /// behind, which passes (transient).
    /// </summary>
    private static readonly Dictionary<int, string> Poison = new()
    {
        [69] = "ARGUMENT_OUT_OF_BOUND",
        [252] = "TOO_MANY_PARTS",
        [321] = "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        [395] = "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO",
        [469] = "VIOLATED_CONSTRAINT",
    };

    /// <summary>True when ClickHouse refused this batch because of its rows (see <see cref="Poison"/>).</summary>
    public static bool IsPoison(Exception exception) =>
        exception is ClickHouseServerException server && Poison.ContainsKey(server.ErrorCode) &&
        (server.ErrorCode != 252 || server.Message.Contains("partitions for single INSERT block", StringComparison.OrdinalIgnoreCase));

    /// <summary>The reason stored with the dead letters of a refused batch: code, name and ClickHouse's first line.</summary>
    public static string ExplainPoison(Exception exception, string table) =>
        exception is ClickHouseServerException server && Poison.TryGetValue(server.ErrorCode, out var name)
            ? $"ClickHouse refused the batch for table {table}: error {server.ErrorCode} {name}: {FirstLine(server.Message)}"
            : $"ClickHouse refused the batch for table {table}: {FirstLine(exception.Message)}";

    /// <summary>True for failures a later attempt may not see: network, timeouts, an open circuit, server overload.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        ClickHouseServerException server => !Fatal.ContainsKey(server.ErrorCode) && !IsPoison(server),
        HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutRejectedException or BrokenCircuitException or TimeoutException => true,
        // HttpClient reports its own timeout as a cancellation; the caller's token is checked separately.
        TaskCanceledException => true,
        _ => false,
    };

    /// <summary>What is wrong and what to do, for the log line that stops the worker.</summary>
    public static string Explain(Exception exception, string database)
    {
        if (exception is ClickHouseServerException server && Fatal.TryGetValue(server.ErrorCode, out var name))
        {
            var fix = server.ErrorCode switch
            {
                192 or 194 or 497 or 516 => "check ClickHouse:ConnectionString (user, password) and that the user may INSERT into the tables",
                60 or 81 => $"the table or database is missing: run the migrations (dotnet StreamPipeline.Sink.dll migrate, or Sink:ApplyMigrations=true) against database '{database}'",
                _ => $"the ClickHouse tables in '{database}' do not match what this sink writes (schemas/clickhouse): apply the migrations of this sink version, or revert the manual change to the table",
            };
            return $"ClickHouse error {server.ErrorCode} {name}: {FirstLine(server.Message)} To fix: {fix}.";
        }

        return $"{exception.GetType().Name}: {FirstLine(exception.Message)}";
    }

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? message : message[..newline];
    }
}
