using StreamPipeline.Deployment.Tests.Infrastructure;

namespace StreamPipeline.Deployment.Tests.Benchmarks;

/// <summary>
/// Issue 12 item 5: every load harness prints its usage on <c>--help</c> and refuses unknown flags. Regression:
/// <c>edge-load --help</c> started a 20,000-agent run on the defaults.
/// </summary>
public sealed class HarnessCommandLineTests
{
    public static TheoryData<string> Harnesses => ["edge-load", "sink-throughput", "command-latency", "rolling-restart", "clickhouse-insert"];

    [Theory]
    [MemberData(nameof(Harnesses))]
    public async Task Harness_Help_PrintsUsageAndExitsZeroWithoutRunning(string harness)
    {
        using var run = ChildProcess.Start("dotnet", [BenchmarksDll(), harness, "--help"]);

        var (code, _) = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"exit code {code}. Output:\n{run.Tail()}");
        Assert.Contains($"usage: StreamPipeline.Benchmarks {harness} [options]", run.Output, StringComparison.Ordinal);
        Assert.Contains("--help", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Harnesses))]
    public async Task Harness_UnknownFlag_RefusedWithExitTwoNamingIt(string harness)
    {
        using var run = ChildProcess.Start("dotnet", [BenchmarksDll(), harness, "--no-such-flag", "1"]);

        var (code, _) = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 2, $"exit code {code}. Output:\n{run.Tail()}");
        Assert.Contains($"{harness}: unknown argument '--no-such-flag'", run.Output, StringComparison.Ordinal);
        Assert.Contains("usage:", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Harness_ValueNotANumber_RefusedNamingTheFlag()
    {
        using var run = ChildProcess.Start("dotnet", [BenchmarksDll(), "edge-load", "--agents", "lots"]);

        var (code, _) = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 2, $"exit code {code}. Output:\n{run.Tail()}");
        Assert.Contains("edge-load: --agents 'lots' is not a whole number", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_NamesEveryHarness()
    {
        using var run = ChildProcess.Start("dotnet", [BenchmarksDll(), "list"]);

        var (code, _) = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, code);
        foreach (var harness in Harnesses)
        {
            Assert.Contains(harness + ": ", run.Output, StringComparison.Ordinal);
        }
    }

    private static string BenchmarksDll()
    {
        var path = Path.Combine(Repository.Root, "tests", "StreamPipeline.Benchmarks", "bin", Repository.Configuration, "net10.0", "StreamPipeline.Benchmarks.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/StreamPipeline.Benchmarks first (this project references it).", path);
    }
}
