using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StreamPipeline.Embedded.ClickHouse.Http;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Engine;

/// <summary>chDB is process-global and locks its DataPath; the facade needs its port. Each conflict gets a clear error.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ProcessGuardTests(ClickHouseFixture fixture)
{
    [Fact]
    public async Task StartAsync_SecondProcessOnSameDataPath_RefusedNamingDataPath()
    {
        var testAssembly = typeof(Program).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(testAssembly);
        start.ArgumentList.Add("start");
        start.ArgumentList.Add(fixture.DataPath);
        using var child = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var output = await child.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = await child.StandardError.ReadToEndAsync(deadline.Token);
        await child.WaitForExitAsync(deadline.Token);

        Assert.True(Program.RefusedExitCode == child.ExitCode, $"exit {child.ExitCode}: {output} {errors}");
        Assert.Contains($"DataPath '{fixture.DataPath}' is locked by another process (Cannot lock file {Path.Combine(fixture.DataPath, "status")})", output, StringComparison.Ordinal);
        Assert.Contains("Use another DataPath", output, StringComparison.Ordinal);
        await Http.BadInputTests.AssertStillServingAsync(Http.RawHttp.Create(fixture));
    }

    [Fact]
    public async Task StartAsync_SecondInstanceInSameProcess_RefusedAsProcessGlobal()
    {
        var sameError = await Assert.ThrowsAsync<EmbeddedClickHouseException>(
            () => EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { DataPath = fixture.DataPath }));
        var otherError = await Assert.ThrowsAsync<EmbeddedClickHouseException>(
            () => EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { DataPath = fixture.DataPath + "-other" }));

        Assert.Contains("already started in this process", sameError.Message, StringComparison.Ordinal);
        Assert.Contains("process-global", otherError.Message, StringComparison.Ordinal);
        Assert.Contains(fixture.DataPath + "-other", otherError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_AfterStopOnSameDataPath_ReusesEngineAndKeepsData()
    {
        var db = await fixture.CreateDatabaseAsync("restart");
        await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (id UInt32) ENGINE = MergeTree ORDER BY id");
        await fixture.Client.InsertBinaryAsync($"{db}.t", ["id"], [[1u], [2u]]);

        await fixture.RestartAsync();

        Assert.Equal(2ul, await fixture.CountAsync($"{db}.t"));
        var limits = await fixture.Client.ExecuteScalarAsync("SELECT value FROM system.server_settings WHERE name = 'max_server_memory_usage'");
        Assert.Equal((2L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), limits);
    }

    [Fact]
    public async Task StartAsync_PortInUse_RefusedNamingPortSetting()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<EmbeddedClickHouseException>(
            () => ClickHouseHttpFacade.StartAsync(fixture.Server.Engine, new EmbeddedClickHouseOptions { Port = port }, CancellationToken.None));

        Assert.Contains($"Port {port} on 127.0.0.1 is already in use (EmbeddedClickHouseOptions.Port)", error.Message, StringComparison.Ordinal);
        await Http.BadInputTests.AssertStillServingAsync(Http.RawHttp.Create(fixture));
    }
}
