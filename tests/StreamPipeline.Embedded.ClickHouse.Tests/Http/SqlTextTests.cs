using System.Text;
using StreamPipeline.Embedded.ClickHouse.Http;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Http;

public sealed class SqlTextTests
{
    [Theory]
    [InlineData("INSERT INTO t (a, b) FORMAT RowBinary\n\u0001\u0002", "INSERT INTO t (a, b) ", "RowBinary", "\u0001\u0002")]
    [InlineData("insert into t format TSV   \r\n1\t2\n", "insert into t ", "TSV", "1\t2\n")]
    [InlineData("INSERT INTO t FORMAT JSONEachRow {\"a\":1}", "INSERT INTO t ", "JSONEachRow", "{\"a\":1}")]
    [InlineData("INSERT INTO t (format) SETTINGS insert_deduplication_token='FORMAT x' FORMAT CSV\n1\n", "INSERT INTO t (format) SETTINGS insert_deduplication_token='FORMAT x' ", "CSV", "1\n")]
    [InlineData("INSERT INTO t VALUES (1, 'FORMAT')", "INSERT INTO t ", "Values", " (1, 'FORMAT')")]
    [InlineData("/* c */ INSERT -- FORMAT no\n INTO t FORMAT TSV\n\n\n", "/* c */ INSERT -- FORMAT no\n INTO t ", "TSV", "\n\n")]
    public void Analyze_InsertWithInlineData_SplitsStatementFormatAndData(string text, string statement, string format, string data)
    {
        var bytes = Encoding.UTF8.GetBytes(text);

        var kind = SqlText.Analyze(bytes, isComplete: true, out var head);

        Assert.Equal(StatementKind.InsertWithData, kind);
        Assert.Equal(statement, Encoding.UTF8.GetString(bytes, 0, head.StatementLength));
        Assert.Equal(format, head.Format);
        Assert.Equal(data, Encoding.UTF8.GetString(bytes, head.DataStart, bytes.Length - head.DataStart));
    }

    [Theory]
    [InlineData("SELECT 1 FORMAT TSV")]
    [InlineData("INSERT INTO t SELECT * FROM s")]
    [InlineData("INSERT INTO t (a) WITH 1 AS x SELECT x")]
    [InlineData("CREATE TABLE t (a UInt8) ENGINE = Memory")]
    [InlineData("")]
    public void Analyze_NoInlineData_IsQuery(string text) =>
        Assert.Equal(StatementKind.Query, SqlText.Analyze(Encoding.UTF8.GetBytes(text), isComplete: true, out _));

    [Theory]
    [InlineData("INSERT INTO t FORMAT RowBin")]
    [InlineData("INSERT INTO t FORMAT RowBinary")]
    [InlineData("INSERT INTO t SETTINGS a='unterminated")]
    [InlineData("INS")]
    public void Analyze_TextCutBeforeTheData_NeedsMore(string text) =>
        Assert.Equal(StatementKind.NeedMore, SqlText.Analyze(Encoding.UTF8.GetBytes(text), isComplete: false, out _));

    [Theory]
    [InlineData("SELECT 1 FORMAT JSON", "JSON")]
    [InlineData("SELECT 'FORMAT x' AS f", null)]
    [InlineData("SELECT * FROM (SELECT 1 FORMAT TSV) FORMAT CSV", "CSV")]
    public void FindFormatClause_Query_ReturnsTopLevelFormat(string sql, string? expected) =>
        Assert.Equal(expected, SqlText.FindFormatClause(Encoding.UTF8.GetBytes(sql)));

    [Theory]
    [InlineData("SET max_threads = 1", true)]
    [InlineData("SELECT 1; use db", true)]
    [InlineData("INSERT INTO t SETTINGS x = 1 VALUES (1)", false)]
    [InlineData("SELECT 'SET'", false)]
    public void ChangesSession_Statement_DetectsSetAndUse(string sql, bool expected) =>
        Assert.Equal(expected, SqlText.ChangesSession(Encoding.UTF8.GetBytes(sql)));
}
