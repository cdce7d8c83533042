using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace StreamPipeline.Deployment.Tests.Infrastructure;

/// <summary>A real child process (a service, <c>make</c>, spctl) with its output captured, signalled the way an orchestrator does.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything written to stdout and stderr so far, interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static ChildProcess Start(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
        {
            foreach (var (key, value) in environment) info.Environment[key] = value;
        }

        var child = new ChildProcess(new Process { StartInfo = info });
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>A service's build output as a process: <c>dotnet src/X/bin/CONFIG/net10.0/X.dll</c>, settings as <c>StreamPipeline__</c> variables.</summary>
    public static ChildProcess StartService(string project, IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        var environment = settings.ToDictionary(kv => "StreamPipeline__" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value);
        return Start("dotnet", [Repository.ServiceDll(project), .. args], environment);
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var (match, seen) in _waiters)
            {
                if (match(line)) seen.TrySetResult(line);
            }
        }
    }

    /// <summary>Waits for an output line matching <paramref name="match"/> (also one already written).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            foreach (var line in _output.ToString().Split('\n'))
            {
                if (match(line.TrimEnd('\r'))) return line;
            }

            _waiters.Add((match, seen));
        }

        var exited = _process.WaitForExitAsync();
        var done = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (done == seen.Task) return await seen.Task;
        var why = done == exited ? $"the process exited with code {_process.ExitCode}" : $"timed out after {timeout}";
        throw new TimeoutException($"Waiting for {what}: {why}. Output:\n{Tail()}");
    }

    /// <summary>Sends a POSIX signal (TERM, INT, KILL) to the process, as <c>kill -SIG pid</c> does.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with {kill.ExitCode}");
    }

    /// <summary>Waits for the exit; returns the exit code and how long it took from the call.</summary>
    public async Task<(int ExitCode, TimeSpan Elapsed)> WaitForExitAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Process {_process.Id} still running {timeout} after the request to stop. Output:\n{Tail()}");
        }

        return (_process.ExitCode, Stopwatch.GetElapsedTime(started));
    }

    public string Tail(int lines = 60)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
