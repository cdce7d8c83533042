using System.Diagnostics;

namespace StreamPipeline.Benchmarks.Edge;

/// <summary>A service run as its own process (<c>dotnet X.dll args</c>), so its memory is its own; output kept for the report.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    public ChildProcess(string dll, IEnumerable<string> args, string name)
    {
        Name = name;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = "0";
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) { _lines.Add(e.Data); if (_lines.Count > 2000) _lines.RemoveAt(0); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) { _lines.Add(e.Data); if (_lines.Count > 2000) _lines.RemoveAt(0); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool Exited => _process.HasExited;

    public string? LastLineContaining(string text)
    {
        lock (_lines) return _lines.LastOrDefault(l => l.Contains(text, StringComparison.Ordinal));
    }

    public string Tail(int n)
    {
        lock (_lines) return string.Join('\n', _lines.TakeLast(n));
    }

    /// <summary>Resident memory from /proc, in bytes.</summary>
    public long RssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }

        return 0;
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM, then up to <paramref name="timeout"/> for a graceful exit.</summary>
    public void Terminate(TimeSpan timeout)
    {
        if (_process.HasExited) return;
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
        if (!_process.WaitForExit(timeout)) Kill();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
