using System.Globalization;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Host;
using StreamPipeline.AgentSimulator.Protocol;

namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// Executes the server's requests on one simulated host (agent-protocol.md section 4) and writes the response
/// payload: <c>{"status":"ok","data":...}</c>, <c>{"status":"ok"}</c> for restart and config updates, or
/// <c>{"status":"error","message":"..."}</c>. Used by the agent's receive loop only.
/// </summary>
internal sealed class RequestDispatcher
{
    private readonly HostProfile _host;
    private readonly SimRandom _random;
    private readonly int _logLines;
    private readonly int _logBytes;
    private readonly Action<AgentConfigUpdate> _applyConfig;
    private readonly DateTimeOffset _created;
    private HostState? _state;

    public RequestDispatcher(HostProfile host, SimRandom random, int logLines, Action<AgentConfigUpdate> applyConfig, DateTimeOffset now, int logBytes = 0)
    {
        _host = host;
        _random = random;
        _logLines = logLines;
        _logBytes = logBytes;
        _applyConfig = applyConfig;
        _created = now;
    }

    public HostState State => _state ??= new HostState(_host, _random, _created);

    /// <summary>Runs <paramref name="action"/> and writes the response payload object.</summary>
    public void Execute(string action, JsonElement payload, Utf8JsonWriter writer, DateTimeOffset now)
    {
        switch (action)
        {
            case "get-server-info":
                WriteServerInfo(writer);
                break;
            case "get-services":
                WriteServices(writer);
                break;
            case "get-service":
                if (TryFindService(payload, writer) is { } service)
                {
                    WriteService(writer, service, now);
                }

                break;
            case "get-service-log":
                if (TryFindService(payload, writer) is { } logged)
                {
                    WriteServiceLog(writer, logged, now);
                }

                break;
            case "restart-service":
                if (TryFindService(payload, writer) is { } restarted)
                {
                    State.Restart(restarted, now);
                    WriteOk(writer);
                }

                break;
            case "get-processes":
                WriteProcesses(writer);
                break;
            case "get-process":
                WriteProcess(writer, payload, now);
                break;
            case "update-agent-config":
                if (AgentConfigUpdate.TryParse(payload, out var update, out var configError))
                {
                    _applyConfig(update!);
                    WriteOk(writer);
                }
                else
                {
                    WriteError(writer, configError);
                }

                break;
            default:
                WriteError(writer, $"Unknown action: {action}");
                break;
        }
    }

    public static void WriteError(Utf8JsonWriter writer, string message)
    {
        writer.WriteStartObject();
        writer.WriteString("status"u8, "error"u8);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
    }

    private static void WriteOk(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("status"u8, "ok"u8);
        writer.WriteEndObject();
    }

    private static void StartData(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("status"u8, "ok"u8);
        writer.WritePropertyName("data"u8);
    }

    private void WriteServerInfo(Utf8JsonWriter writer)
    {
        StartData(writer);
        writer.WriteStartObject();
        writer.WriteString("hostname"u8, _host.Hostname);
        writer.WriteString("ipAddress"u8, _host.IpAddress);
        writer.WriteString("os"u8, _host.Os);
        writer.WriteString("osVersion"u8, _host.OsVersion);
        writer.WriteString("kernel"u8, _host.Kernel);
        writer.WriteString("architecture"u8, _host.Architecture);
        writer.WriteString("cpuModel"u8, _host.CpuModel);
        writer.WriteNumber("cpuCores"u8, _host.CpuCores);
        writer.WriteNumber("cpuThreads"u8, _host.CpuThreads);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private void WriteServices(Utf8JsonWriter writer)
    {
        StartData(writer);
        writer.WriteStartArray();
        foreach (var service in State.Services)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, service.Name);
            writer.WriteString("activeState"u8, service.ActiveState);
            writer.WriteString("subState"u8, service.SubState);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private SimulatedService? TryFindService(JsonElement payload, Utf8JsonWriter writer)
    {
        if (payload.ValueKind != JsonValueKind.Object
            || !payload.TryGetProperty("name", out var nameElement)
            || nameElement.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(nameElement.GetString()))
        {
            WriteError(writer, "Missing or invalid 'name': a non-empty service name is required");
            return null;
        }

        var name = nameElement.GetString()!;
        var service = State.FindService(name);
        if (service is null)
        {
            WriteError(writer, $"Unit {(name.EndsWith(".service", StringComparison.Ordinal) ? name : name + ".service")} could not be found.");
        }

        return service;
    }

    private void WriteService(Utf8JsonWriter writer, SimulatedService service, DateTimeOffset now)
    {
        var running = service.MainPid is not null && service.SubState == "running";
        StartData(writer);
        writer.WriteStartObject();
        writer.WriteString("name"u8, service.Name);
        writer.WriteString("activeState"u8, service.ActiveState);
        writer.WriteString("subState"u8, service.SubState);
        writer.WriteNumber("mainPID"u8, running ? service.MainPid!.Value : 0);
        Json.WriteFloat(writer, "cpuUsagePercent"u8, running ? service.Template.CpuPercent * _random.NextDouble(0.5, 1.5) : 0);
        Json.WriteFloat(writer, "memoryUsage"u8, running ? service.Template.MemoryMb * _random.NextDouble(0.9, 1.1) : 0);
        writer.WriteString("startTime"u8, Iso(service.StartTime));
        if (service.ExitTime is { } exit)
        {
            writer.WriteString("exitTime"u8, Iso(exit));
        }
        else
        {
            writer.WriteNull("exitTime"u8);
        }

        writer.WriteString("restartPolicy"u8, service.Template.RestartPolicy);
        writer.WriteNumber("restarts"u8, service.Restarts);
        writer.WriteNumber("uptimeSeconds"u8, running ? (long)(now - service.StartTime).TotalSeconds : 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private void WriteServiceLog(Utf8JsonWriter writer, SimulatedService service, DateTimeOffset now)
    {
        var lines = new List<string>(_logLines);
        var pid = service.MainPid ?? 0;
        var time = now - TimeSpan.FromSeconds(_logLines * 7.0);
        for (var i = 0; i < _logLines; i++)
        {
            time += TimeSpan.FromMilliseconds(_random.Next(1_000, 13_000));
            if (time > now)
            {
                time = now;
            }

            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff}+0000 {_host.Hostname} {service.Template.ProcessName}[{pid}]: {LogMessage(service, i)}"));
        }

        if (_logBytes > 0)
        {
            // Measure the payload as written (escapes included), then pad the last line with one-byte characters to the exact size.
            var scratch = new System.Buffers.ArrayBufferWriter<byte>(_logBytes + 1024);
            using (var measure = new Utf8JsonWriter(scratch))
            {
                WriteLogPayload(measure, lines);
            }

            var missing = _logBytes - scratch.WrittenCount;
            if (missing > 0)
            {
                if (lines.Count == 0)
                {
                    lines.Add(new string('x', Math.Max(0, missing - "{\"log\":\"\"}".Length)));
                }
                else
                {
                    lines[^1] += new string('x', missing);
                }
            }
        }

        WriteLogPayload(writer, lines);
    }

    private static void WriteLogPayload(Utf8JsonWriter writer, List<string> lines)
    {
        StartData(writer);
        writer.WriteStartArray();
        foreach (var line in lines)
        {
            writer.WriteStartObject();
            writer.WriteString("log"u8, line);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private string LogMessage(SimulatedService service, int index)
    {
        var n = _random.Next(1000);
        return service.Name switch
        {
            "nginx" => n % 10 == 0
                ? "upstream timed out (110: Connection timed out) while reading response header from upstream"
                : $"10.0.{n % 256}.{(n * 7) % 256} - - \"GET /api/v1/items/{n} HTTP/1.1\" {(n % 17 == 0 ? 404 : 200)} {512 + n}",
            "postgresql" => n % 9 == 0 ? "LOG:  checkpoint starting: time" : $"LOG:  duration: {n / 10.0:0.0} ms  statement: SELECT * FROM orders WHERE id = {n}",
            "redis-server" => n % 5 == 0 ? "Background saving started by pid " + (4000 + n) : $"{n} changes in 300 seconds. Saving...",
            "ssh" => n % 3 == 0 ? $"Accepted publickey for admin from 10.0.0.{n % 250} port {40000 + n} ssh2" : "pam_unix(sshd:session): session closed for user admin",
            "cron" => $"(root) CMD (run-parts /etc/cron.hourly) #{index}",
            _ => n % 7 == 0 ? $"Reloading {service.Name}." : $"{service.Name}: heartbeat ok, queue={n % 13}, latency_ms={n % 97}",
        };
    }

    private void WriteProcesses(Utf8JsonWriter writer)
    {
        StartData(writer);
        writer.WriteStartArray();
        foreach (var process in State.Processes)
        {
            writer.WriteStartObject();
            WriteProcessSummary(writer, process);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private void WriteProcessSummary(Utf8JsonWriter writer, SimulatedProcess process)
    {
        writer.WriteNumber("pid"u8, process.Pid);
        writer.WriteString("name"u8, process.Name);
        writer.WriteString("user"u8, process.User);
        writer.WriteString("status"u8, process.Status);
        Json.WriteFloat(writer, "cpuPercent"u8, process.CpuPercent * _random.NextDouble(0.3, 1.7));
        Json.WriteFloat(writer, "memoryPercent"u8, process.MemoryPercent * _random.NextDouble(0.95, 1.05));
    }

    private void WriteProcess(Utf8JsonWriter writer, JsonElement payload, DateTimeOffset now)
    {
        var pidElement = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("pid", out var found) ? found : default;
        if (!PythonInt.TryCast(pidElement, out var pid, out var castError))
        {
            WriteError(writer, castError);
            return;
        }

        if (pid < 0)
        {
            WriteError(writer, $"pid must be a positive integer (got {pid})");
            return;
        }

        var process = State.FindProcess(pid);
        if (process is null)
        {
            WriteError(writer, $"process PID not found (pid={pid})");
            return;
        }

        StartData(writer);
        writer.WriteStartObject();
        WriteProcessSummary(writer, process);
        writer.WriteNumber("ppid"u8, process.Ppid);
        writer.WritePropertyName("cmdline"u8);
        writer.WriteStartArray();
        foreach (var argument in process.Cmdline)
        {
            writer.WriteStringValue(argument);
        }

        writer.WriteEndArray();
        writer.WriteNumber("nice"u8, process.Nice);
        writer.WriteNumber("numThreads"u8, process.Threads);
        writer.WriteNumber("uptimeSeconds"u8, Math.Max(0, (long)(now - process.Started).TotalSeconds));
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
