using StreamPipeline.Deployment.Tests.Infrastructure;

namespace StreamPipeline.Deployment.Tests.Tokens;

/// <summary>Issue 11: a newcomer issues a token and the running connector sees it.</summary>
public sealed class TokenCommandTests
{
    /// <summary>Regression: through <c>dotnet run</c> the relative store landed under src/StreamPipeline.EdgeConnector/, not the caller's folder.</summary>
    [Fact]
    public async Task TokensIssue_RelativeStoreThroughDotnetRun_WritesUnderTheCallersDirectory()
    {
        var caller = Repository.TempDirectory("sp-tokens-caller");
        var project = Path.Combine(Repository.Root, "src", "StreamPipeline.EdgeConnector");
        using var run = ChildProcess.Start("dotnet",
            ["run", "--no-build", "-c", Repository.Configuration, "--project", project, "--", "tokens", "issue", "agent-7", "--store", "data/tokens.txt"],
            workingDirectory: caller);

        var (code, _) = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.True(code == 0, $"exit code {code}. Output:\n{run.Tail()}");
        var store = Path.Combine(caller, "data", "tokens.txt");
        Assert.True(File.Exists(store), $"no token store at {store}. Output:\n{run.Tail()}");
        Assert.False(Directory.Exists(Path.Combine(project, "data", "tokens.txt")), "the store must not land in the project folder");
        AssertStoredHashOnly(store, "agent-7", TokenFrom(run.Output));
        Assert.Contains(store, run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MakeToken_Agent_PrintsTokenOnceAndStoresOnlyItsHash()
    {
        var store = Path.Combine(Repository.TempDirectory("sp-make-token"), "tokens.txt");
        using var make = ChildProcess.Start("make", ["-s", "token", "AGENT=host-42", "STORE=" + store, "CONFIG=" + Repository.Configuration]);

        var (code, _) = await make.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(code == 0, $"exit code {code}. Output:\n{make.Tail()}");
        AssertStoredHashOnly(store, "host-42", TokenFrom(make.Output));
    }

    [Fact]
    public async Task MakeToken_NoAgent_ExitsTwoWithUsage()
    {
        using var make = ChildProcess.Start("make", ["-s", "token"]);

        var (code, _) = await make.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, code);
        Assert.Contains("Usage: make token AGENT=", make.Output, StringComparison.Ordinal);
    }

    /// <summary>The token is the one stdout line of 43 URL-safe base64 characters.</summary>
    private static string TokenFrom(string output) =>
        Assert.Single(output.Split('\n').Select(l => l.Trim()), l => l.Length == 43 && l.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));

    private static void AssertStoredHashOnly(string store, string agentId, string token)
    {
        var text = File.ReadAllText(store);
        Assert.Contains(agentId + " sha256:", text, StringComparison.Ordinal);
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
    }
}
