using StreamPipeline.LocalStack.FleetPage;

namespace StreamPipeline.LocalStack.Tests.FleetPage;

/// <summary>The expansion is the text of the plugin's backend (pkg/macros/macros.go), character for character.</summary>
public sealed class GrafanaMacrosTests
{
    private static readonly QueryTime Time = new(
        DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), DateTimeOffset.FromUnixTimeMilliseconds(1_700_003_600_456), TimeSpan.FromSeconds(30));

    [Theory]
    [InlineData("$__timeFilter(t)", "t >= toDateTime(1700000000) AND t <= toDateTime(1700003600)")]
    [InlineData("$__timeFilter_ms(t)", "t >= fromUnixTimestamp64Milli(1700000000123) AND t <= fromUnixTimestamp64Milli(1700003600456)")]
    [InlineData("$__dateFilter(d)", "d >= toDate('2023-11-14') AND d <= toDate('2023-11-14')")]
    [InlineData("$__fromTime / $__toTime", "toDateTime(1700000000) / toDateTime(1700003600)")]
    [InlineData("$__fromTime_ms,$__toTime_ms", "fromUnixTimestamp64Milli(1700000000123),fromUnixTimestamp64Milli(1700003600456)")]
    [InlineData("$__timeInterval(agent_time)", "toStartOfInterval(toDateTime(agent_time), INTERVAL 30 second)")]
    [InlineData("$__timeInterval_ms(agent_time)", "toStartOfInterval(toDateTime64(agent_time, 3), INTERVAL 30000 millisecond)")]
    [InlineData("greatest($__interval_s, 60)", "greatest(30, 60)")]
    [InlineData("$__timeInterval(toStartOfMinute(t))", "toStartOfInterval(toDateTime(toStartOfMinute(t)), INTERVAL 30 second)")]
    [InlineData("x = '$__fromTime'", "x = '$__fromTime'")]
    public void Expand_PluginMacro_SameTextAsThePlugin(string sql, string expected) =>
        Assert.Equal(expected, GrafanaMacros.Expand(sql, Time));

    [Theory]
    [InlineData("$__conditionalAll(a, $x)", "not one the fleet page expands")]
    [InlineData("$__timeFilter(a, b)", "expects 1 argument, got 2")]
    [InlineData("$__timeFilter(a", "never closed")]
    public void Expand_UnknownOrMalformed_Throws(string sql, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => GrafanaMacros.Expand(sql, Time)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData(15 * 60, 500, "10s", 10)]          // 1.8 s rounds to 2 s, below the 10 s minimum
    [InlineData(3 * 86400, 500, "10s", 600)]       // 518 s rounds to 10 min
    [InlineData(30 * 86400, 500, "10s", 3600)]     // 5184 s rounds to 1 h
    [InlineData(6 * 3600, 500, "10s", 30)]         // 43.2 s is below the 45 s step: 30 s
    [InlineData(3600, 1000, "1m", 60)]
    public void PanelInterval_RangeAndPoints_GrafanasRoundedInterval(int rangeSeconds, int points, string min, int expectedSeconds)
    {
        var to = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var interval = GrafanaMacros.PanelInterval(to.AddSeconds(-rangeSeconds), to, points, GrafanaMacros.ParseInterval(min));
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), interval);
    }

    [Fact]
    public void Interpolate_Variables_GrafanasFormats()
    {
        var values = new Dictionary<string, string> { ["database"] = "sp", ["agent"] = "it's", ["n"] = "5" };
        Assert.Equal("SELECT * FROM sp.t WHERE a = 'it\\'s' AND n > 5 AND $__timeFilter(x)",
            GrafanaVariables.Interpolate("SELECT * FROM ${database}.t WHERE a = ${agent:singlequote} AND n > $n AND $__timeFilter(x)", values));
        Assert.Contains("has no value", Assert.Throws<FormatException>(() => GrafanaVariables.Interpolate("$missing", values)).Message, StringComparison.Ordinal);
        Assert.Contains("not supported", Assert.Throws<FormatException>(() => GrafanaVariables.Interpolate("${agent:csv}", values)).Message, StringComparison.Ordinal);
    }
}
