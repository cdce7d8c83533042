using System.Globalization;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>What a statement read and wrote, from the <c>chdb_result_*</c> getters.</summary>
internal readonly record struct QueryStats(ulong RowsRead, ulong BytesRead, ulong RowsWritten, ulong BytesWritten, double ElapsedSeconds)
{
    public QueryStats Add(QueryStats other) => new(
        RowsRead + other.RowsRead,
        BytesRead + other.BytesRead,
        RowsWritten + other.RowsWritten,
        BytesWritten + other.BytesWritten,
        ElapsedSeconds + other.ElapsedSeconds);

    /// <summary>The <c>X-ClickHouse-Summary</c> header value (numbers as strings, as ClickHouse sends them).</summary>
    public string ToSummaryJson(ulong resultRows, ulong resultBytes, TimeSpan elapsed)
    {
        var elapsedNs = (ulong)Math.Max(0, elapsed.Ticks * 100);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"read_rows\":\"{RowsRead}\",\"read_bytes\":\"{BytesRead}\",\"written_rows\":\"{RowsWritten}\",\"written_bytes\":\"{BytesWritten}\",\"total_rows_to_read\":\"{RowsRead}\",\"result_rows\":\"{resultRows}\",\"result_bytes\":\"{resultBytes}\",\"elapsed_ns\":\"{elapsedNs}\"}}");
    }
}
