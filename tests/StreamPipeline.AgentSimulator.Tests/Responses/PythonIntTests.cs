using System.Text.Json;
using StreamPipeline.AgentSimulator.Responses;

namespace StreamPipeline.AgentSimulator.Tests.Responses;

public sealed class PythonIntTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("007", 7)]
    [InlineData("-3", -3)]
    [InlineData("+5", 5)]
    [InlineData(" \t\n42\r\n ", 42)]
    [InlineData("1_000", 1000)]
    [InlineData("\u0664\u0662", 42)]
    [InlineData("\u001f7\u001c", 7)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void TryParse_WhatPythonIntAccepts_ReturnsTheValue(string text, long expected)
    {
        Assert.True(PythonInt.TryParse(text, out var value, out var error), error);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("+")]
    [InlineData("12a")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("0x10")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("1__0")]
    [InlineData("+-1")]
    [InlineData("1 2")]
    [InlineData("9223372036854775808")]
    public void TryParse_WhatPythonIntRejects_ReturnsAValueErrorMessage(string text)
    {
        Assert.False(PythonInt.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("1234", true)]
    [InlineData("-1", true)]
    [InlineData("12.5", false)]
    [InlineData("1.0", false)]
    [InlineData("1e3", false)]
    [InlineData("true", false)]
    [InlineData("null", false)]
    [InlineData("{}", false)]
    [InlineData("[]", false)]
    public void TryCast_JsonValue_AcceptsOnlyIntegersAndIntegerStrings(string json, bool accepted)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(accepted, PythonInt.TryCast(document.RootElement, out _, out _));
    }
}
