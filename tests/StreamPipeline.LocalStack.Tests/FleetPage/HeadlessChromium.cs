using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StreamPipeline.LocalStack.Tests.FleetPage;

/// <summary>
/// Debian's chromium, headless, driven over the Chrome DevTools Protocol (a WebSocket; no driver, no npm): navigate,
/// evaluate JavaScript in the page, take a screenshot.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _profile;
    private Task _receive = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The browser binary: <c>STREAMPIPELINE_CHROMIUM</c>, else Debian's <c>/usr/bin/chromium</c>.</summary>
    public static string Executable => Environment.GetEnvironmentVariable("STREAMPIPELINE_CHROMIUM") ?? "/usr/bin/chromium";

    public static async Task<HeadlessChromium> StartAsync(int width, int height, TimeSpan timeout)
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"No browser at {Executable}: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set STREAMPIPELINE_CHROMIUM.");
        var profile = Path.Combine(Path.GetTempPath(), "sp-chromium-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}", $"--window-size={width},{height}",
                     "--hide-scrollbars", "about:blank",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.ErrorDataReceived += (_, e) =>
            {
                const string marker = "DevTools listening on ";
                if (e.Data?.StartsWith(marker, StringComparison.Ordinal) == true) listening.TrySetResult(e.Data[marker.Length..].Trim());
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var browserUrl = new Uri(await listening.Task.WaitAsync(timeout));
            using var http = new HttpClient();
            var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{browserUrl.Port}/json/list")))!.AsArray();
            var page = targets.First(t => (string?)t!["type"] == "page")!;
            await browser._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), CancellationToken.None);
            browser._receive = Task.Run(browser.ReceiveAsync);
            await browser.SendAsync("Page.enable", new JsonObject());
            await browser.SendAsync("Runtime.enable", new JsonObject());
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public async Task NavigateAsync(Uri url) => await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });

    /// <summary>Evaluates an expression (a promise is awaited) and returns its value as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var answer = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (answer.TryGetProperty("exceptionDetails", out var error)) throw new InvalidOperationException("The page threw: " + error);
        return answer.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var answer = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String(answer.GetProperty("data").GetString()!);
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString();
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
        return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var read = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (read.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, read.Count);
                if (!read.EndOfMessage) continue;
                using var doc = JsonDocument.Parse(message.ToArray());
                message.SetLength(0);
                if (!doc.RootElement.TryGetProperty("id", out var idElement) || !_pending.TryRemove(idElement.GetInt32(), out var waiter)) continue;
                if (doc.RootElement.TryGetProperty("error", out var error)) waiter.TrySetException(new InvalidOperationException("DevTools: " + error));
                else waiter.TrySetResult(doc.RootElement.GetProperty("result").Clone());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        foreach (var waiter in _pending.Values) waiter.TrySetException(new InvalidOperationException("The browser closed its DevTools connection."));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receive;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
