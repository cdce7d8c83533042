using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace StreamPipeline.LocalStack.Tests.FleetPage;

/// <summary>
/// <c>make run</c> as a child process (the LocalStack build this test project references), every port free and
/// chosen here, data in a temporary folder; stopped with SIGKILL at the end (its data is thrown away).
/// </summary>
internal sealed partial class LocalStackProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _page = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _data;

    private LocalStackProcess(Process process, string data, int clickHousePort)
    {
        _process = process;
        _data = data;
        ClickHouse = new Uri($"http://127.0.0.1:{clickHousePort}/");
    }

    public Uri ClickHouse { get; }

    public Stopwatch SinceStart { get; } = Stopwatch.StartNew();

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static LocalStackProcess Start(int agents, TimeSpan metricsInterval)
    {
        var data = Path.Combine(Path.GetTempPath(), "sp-localstack-" + Guid.NewGuid().ToString("N"));
        var ports = FreePorts(6);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "StreamPipeline.LocalStack.dll"));
        foreach (var arg in new[]
                 {
                     $"--LocalStack:DataPath={data}", $"--LocalStack:ClickHouseDataPath={data}/clickhouse",
                     $"--LocalStack:ClickHousePort={ports[0]}", $"--LocalStack:SchemaRegistryPort={ports[1]}", $"--LocalStack:ConnectorPort={ports[2]}",
                     $"--LocalStack:ConnectorOpsPort={ports[3]}", $"--LocalStack:SinkOpsPort={ports[4]}", $"--LocalStack:DispatcherOpsPort={ports[5]}",
                     $"--LocalStack:SimulatedAgents={agents}", $"--LocalStack:MetricsInterval={metricsInterval:c}", "--FleetPage:Port=0",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var child = new LocalStackProcess(process, data, ports[0]);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => child._page.TrySetException(new InvalidOperationException("make run exited before printing the fleet page:\n" + child.Output));
        return child;
    }

    /// <summary>The fleet page's address, as the banner prints it.</summary>
    public Task<Uri> FleetPageAsync(TimeSpan timeout) => _page.Task.WaitAsync(timeout);

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var m = BannerLine().Match(line);
        if (m.Success) _page.TrySetResult(new Uri(m.Groups[1].Value));
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"Fleet page \(browser\)\s+(http://127\.0\.0\.1:\d+/)")]
    private static partial Regex BannerLine();

    internal static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
