using System.Diagnostics;
using System.Globalization;

namespace StreamPipeline.Benchmarks.Deployment;

/// <summary>
/// One service as its own OS process, configured only by <c>StreamPipeline__Section__Key</c> environment variables (as the
/// README documents), restartable with the same environment; output kept per process for the report.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly string _fileName;
    private readonly IReadOnlyList<string> _args;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string _logPath;
    private Process? _process;

    public ServiceProcess(string name, string fileName, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, int opsPort, string logDirectory)
    {
        Name = name;
        _fileName = fileName;
        _args = args;
        _environment = environment;
        OpsPort = opsPort;
        _logPath = Path.Combine(logDirectory, name + ".log");
    }

    public string Name { get; }

    public int OpsPort { get; }

    public int Starts { get; private set; }

    public void Start()
    {
        var info = new ProcessStartInfo(_fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in _args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in _environment) info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + Name);
        var log = new StreamWriter(_logPath, append: true) { AutoFlush = true };
        log.WriteLine($"---- start {++Starts} pid {process.Id}");
        void Write(string? line)
        {
            if (line is null) return;
            lock (log)
            {
                try { log.WriteLine(line); }
                catch (ObjectDisposedException) { }
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) => { lock (log) log.Dispose(); };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>Waits for <c>/readyz</c> on the ops port (or, with no ops port, for the process to be alive).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            if (_process is null || _process.HasExited) throw new InvalidOperationException($"{Name} exited (code {_process?.ExitCode}) before it was ready; see {_logPath}");
            if (OpsPort == 0) return;
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{OpsPort}/readyz"));
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} not ready within {timeout}; see {_logPath}");
    }

    /// <summary>Sends a signal and waits for the exit; returns the exit code (SIGKILL: 137).</summary>
    public async Task<int> SignalAndWaitAsync(string signal, TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException(Name + " is not running");
        using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} still running {timeout} after SIG{signal}; see {_logPath}");
        }

        return process.ExitCode;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }

        _process?.Dispose();
    }
}
