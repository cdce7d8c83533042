using System.Diagnostics;

namespace StreamPipeline.Sink.Tests.Infrastructure;

/// <summary>The sink as its own process (<c>dotnet StreamPipeline.Sink.dll</c>), configured through StreamPipeline__ environment variables.</summary>
public sealed class SinkProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private SinkProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Id => _process.Id;

    /// <summary>Completes when the sink logs its first partition assignment.</summary>
    public Task Assigned => _assigned.Task;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static SinkProcess Start(IReadOnlyDictionary<string, string?> settings, string logPath, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(SinkDll());
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var (key, value) in settings) info.Environment["StreamPipeline__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        info.Environment["DOTNET_gcServer"] = "0";
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        var sink = new SinkProcess(process, log);
        process.OutputDataReceived += (_, e) =>
        {
            Write(log, e.Data);
            if (e.Data?.Contains("[4302] Assigned", StringComparison.Ordinal) == true) sink._assigned.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Write(log, $"---- started sink process {process.Id}");
        return sink;
    }

    /// <summary>SIGKILL: no drain, no commit, no goodbye.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit(10_000);
        Write(_log, $"---- SIGKILL sink process {_process.Id}");
    }

    /// <summary>SIGTERM: the sink drains and exits; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(10_000);
        _process.Dispose();
        lock (_log) _log.Dispose();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the test is over.
            }
        }
    }

    /// <summary>The sink built next to this test assembly, in the same configuration.</summary>
    private static string SinkDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = baseDir.Parent!.Name;
        var root = baseDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "StreamPipeline.sln"))) root = root.Parent;
        var path = Path.Combine(root?.FullName ?? throw new InvalidOperationException("StreamPipeline.sln not found above " + baseDir), "src", "StreamPipeline.Sink", "bin", configuration, "net10.0", "StreamPipeline.Sink.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/StreamPipeline.Sink first (the test project references it).", path);
    }
}
