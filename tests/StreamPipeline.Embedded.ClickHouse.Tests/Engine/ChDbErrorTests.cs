using StreamPipeline.Embedded.ClickHouse.Engine;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Engine;

public sealed class ChDbErrorTests
{
    [Fact]
    public void Parse_NestedErrorWithVersions_KeepsCodeNameAndMessage()
    {
        var error = ChDbError.Parse("Code: 73. DB::Exception: Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format X. (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT)");

        Assert.Equal(73, error.Code);
        Assert.Equal("UNKNOWN_FORMAT", error.Name);
        Assert.Equal("Unknown format X", error.Message);
        Assert.Equal("Code: 73. DB::Exception: Unknown format X. (UNKNOWN_FORMAT) (version 26.7.2.1)\n", error.ToClickHouseText("26.7.2.1"));
    }

    [Fact]
    public void Parse_MessageWithParentheses_KeepsThem()
    {
        var error = ChDbError.Parse("Code: 60. DB::Exception: Unknown table expression identifier 'nope' in scope SELECT * FROM nope (x). Maybe you meant system.one?. (UNKNOWN_TABLE)");

        Assert.Equal(60, error.Code);
        Assert.Equal("Unknown table expression identifier 'nope' in scope SELECT * FROM nope (x). Maybe you meant system.one?", error.Message);
    }

    [Fact]
    public void Parse_TextWithoutCode_IsStdException()
    {
        var error = ChDbError.Parse("Invalid insert stream");

        Assert.Equal(1001, error.Code);
        Assert.Equal("STD_EXCEPTION", error.Name);
    }

    [Theory]
    [InlineData(62, 400)]
    [InlineData(60, 404)]
    [InlineData(73, 404)]
    [InlineData(516, 403)]
    [InlineData(354, 500)]
    [InlineData(89, 400)]
    public void HttpStatusOf_Code_MatchesClickHouse(int code, int status) => Assert.Equal(status, ErrorCodes.HttpStatusOf(code));
}
