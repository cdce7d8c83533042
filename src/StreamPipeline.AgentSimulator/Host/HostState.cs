namespace StreamPipeline.AgentSimulator.Host;

/// <summary>
/// The services and processes of one simulated server. Built on the first request that needs them (most
/// agents of a load test never get one), then changed by <c>restart-service</c>. Used by the agent's
/// receive loop only.
/// </summary>
internal sealed class HostState
{
    private static readonly ServiceTemplate[] Common =
    [
        new("ssh", "sshd", "root", "on-failure", 6, 0.1, ["/usr/sbin/sshd", "-D"]),
        new("cron", "cron", "root", "on-failure", 3, 0.0, ["/usr/sbin/cron", "-f", "-P"]),
        new("systemd-journald", "systemd-journald", "root", "always", 48, 0.2, ["/lib/systemd/systemd-journald"]),
        new("systemd-logind", "systemd-logind", "root", "always", 8, 0.0, ["/lib/systemd/systemd-logind"]),
        new("rsyslog", "rsyslogd", "syslog", "on-failure", 5, 0.1, ["/usr/sbin/rsyslogd", "-n", "-iNONE"]),
        new("chrony", "chronyd", "_chrony", "on-failure", 3, 0.0, ["/usr/sbin/chronyd", "-F", "1"]),
        new("node-exporter", "node_exporter", "prometheus", "always", 22, 0.4, ["/usr/bin/prometheus-node-exporter"]),
    ];

    private static readonly Dictionary<string, ServiceTemplate[]> ByRole = new(StringComparer.Ordinal)
    {
        ["web"] = [new("nginx", "nginx", "www-data", "on-failure", 64, 1.5, ["nginx: master process /usr/sbin/nginx", "-g", "daemon on; master_process on;"])],
        ["db"] = [new("postgresql", "postgres", "postgres", "on-failure", 1800, 6.0, ["/usr/lib/postgresql/16/bin/postgres", "-D", "/var/lib/postgresql/16/main"])],
        ["cache"] = [new("redis-server", "redis-server", "redis", "always", 900, 2.0, ["/usr/bin/redis-server", "127.0.0.1:6379"])],
        ["worker"] =
        [
            new("containerd", "containerd", "root", "always", 70, 0.8, ["/usr/bin/containerd"]),
            new("docker", "dockerd", "root", "always", 120, 1.2, ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]),
        ],
        ["api"] =
        [
            new("haproxy", "haproxy", "haproxy", "always", 40, 1.0, ["/usr/sbin/haproxy", "-Ws", "-f", "/etc/haproxy/haproxy.cfg"]),
            new("app-api", "python3", "app", "always", 350, 4.0, ["/opt/app/venv/bin/python3", "-m", "gunicorn", "app.api:app", "--workers", "4"]),
        ],
        ["batch"] = [new("app-batch", "python3", "app", "on-failure", 500, 12.0, ["/opt/app/venv/bin/python3", "-m", "app.batch"])],
    };

    private readonly List<SimulatedService> _services = [];
    private readonly List<SimulatedProcess> _processes = [];
    private int _nextPid;

    public HostState(HostProfile host, SimRandom random, DateTimeOffset now)
    {
        Host = host;
        _nextPid = 2000 + random.Next(20_000);
        AddProcess(new SimulatedProcess(1, 0, "systemd", "root", "sleeping", 0.0, 0.3, ["/sbin/init"], 0, 1, now - host.BootAgo));
        AddProcess(new SimulatedProcess(2, 0, "kthreadd", "root", "sleeping", 0.0, 0.0, [], 0, 1, now - host.BootAgo));
        for (var cpu = 0; cpu < Math.Min(host.CpuThreads, 4); cpu++)
        {
            AddProcess(new SimulatedProcess(10 + cpu, 2, $"kworker/{cpu}:1-events", "root", "idle", 0.0, 0.0, [], 0, 1, now - host.BootAgo));
        }

        var templates = new List<ServiceTemplate>(Common);
        if (ByRole.TryGetValue(host.Role, out var roleServices))
        {
            templates.AddRange(roleServices);
        }

        var failedIndex = random.Next(8) == 0 ? random.Next(templates.Count) : -1;
        for (var i = 0; i < templates.Count; i++)
        {
            var template = templates[i];
            // The protocol's own examples use these pids; keeping them makes hand-written requests work.
            var pid = template.Name switch { "systemd-journald" => 42, "ssh" => 1234, _ => NextPid() };
            var started = now - TimeSpan.FromSeconds(random.NextDouble(60, host.BootAgo.TotalSeconds));
            var service = new SimulatedService(template, started);
            if (i == failedIndex && pid is not (42 or 1234))
            {
                service.ActiveState = "failed";
                service.SubState = "failed";
                service.ExitTime = started + TimeSpan.FromSeconds(random.NextDouble(1, 3600));
            }
            else
            {
                service.MainPid = pid;
                var process = new SimulatedProcess(pid, 1, template.ProcessName, template.User, "sleeping", template.CpuPercent,
                    template.MemoryMb / 1024 / host.RamTotalGb * 100, template.Cmdline, 0, 1 + random.Next(32), started);
                AddProcess(process);
            }

            _services.Add(service);
        }

        _services.Add(new SimulatedService(new ServiceTemplate("unattended-upgrades", "unattended-upgr", "root", "no", 0, 0, []), now - host.BootAgo)
        {
            ActiveState = "inactive",
            SubState = "dead",
            ExitTime = now - host.BootAgo + TimeSpan.FromMinutes(3),
        });

        var sessionPid = NextPid();
        AddProcess(new SimulatedProcess(sessionPid, 1234, "sshd", "root", "sleeping", 0.0, 0.1, ["sshd: admin [priv]"], 0, 1, now - TimeSpan.FromMinutes(random.Next(1, 600))));
        AddProcess(new SimulatedProcess(NextPid(), sessionPid, "bash", "admin", "sleeping", 0.0, 0.1, ["-bash"], 0, 1, now - TimeSpan.FromMinutes(random.Next(1, 600))));
        AddProcess(new SimulatedProcess(NextPid(), 1, "monitoring-agent", "root", "running", 0.6, 0.4, ["/usr/bin/python3", "/opt/agent/agent.py"], 0, 4, now - TimeSpan.FromHours(random.Next(1, 200))));
    }

    public HostProfile Host { get; }

    public IReadOnlyList<SimulatedService> Services => _services;

    public IReadOnlyList<SimulatedProcess> Processes => _processes;

    /// <summary>Finds a service by its name, with or without the <c>.service</c> suffix.</summary>
    public SimulatedService? FindService(string name)
    {
        var bare = name.EndsWith(".service", StringComparison.Ordinal) ? name[..^".service".Length] : name;
        foreach (var service in _services)
        {
            if (string.Equals(service.Name, bare, StringComparison.Ordinal))
            {
                return service;
            }
        }

        return null;
    }

    public SimulatedProcess? FindProcess(long pid)
    {
        foreach (var process in _processes)
        {
            if (process.Pid == pid)
            {
                return process;
            }
        }

        return null;
    }

    /// <summary>What <c>systemctl restart</c> does: a new main process, a new start time, the unit active again.</summary>
    public void Restart(SimulatedService service, DateTimeOffset now)
    {
        if (service.MainPid is { } oldPid)
        {
            _processes.RemoveAll(p => p.Pid == oldPid);
        }

        // The protocol's example pids stay put, so requests written by hand keep working after a restart.
        var pid = service.MainPid is 42 or 1234 ? service.MainPid.Value : NextPid();
        service.MainPid = pid;
        service.ActiveState = "active";
        service.SubState = "running";
        service.StartTime = now;
        service.ExitTime = null;
        service.Restarts++;
        var template = service.Template;
        AddProcess(new SimulatedProcess(pid, 1, template.ProcessName, template.User, "sleeping", template.CpuPercent,
            template.MemoryMb / 1024 / Host.RamTotalGb * 100, template.Cmdline, 0, 1, now));
    }

    private int NextPid() => _nextPid += 1 + (_nextPid % 7);

    private void AddProcess(SimulatedProcess process) => _processes.Add(process);
}

internal sealed record ServiceTemplate(string Name, string ProcessName, string User, string RestartPolicy, double MemoryMb, double CpuPercent, string[] Cmdline);

internal sealed class SimulatedService(ServiceTemplate template, DateTimeOffset startTime)
{
    public ServiceTemplate Template { get; } = template;

    public string Name => Template.Name;

    public string ActiveState { get; set; } = "active";

    public string SubState { get; set; } = "running";

    public int? MainPid { get; set; }

    public DateTimeOffset StartTime { get; set; } = startTime;

    public DateTimeOffset? ExitTime { get; set; }

    public int Restarts { get; set; }
}

internal sealed class SimulatedProcess(int pid, int ppid, string name, string user, string status, double cpuPercent, double memoryPercent, string[] cmdline, int nice, int threads, DateTimeOffset started)
{
    public int Pid { get; } = pid;

    public int Ppid { get; } = ppid;

    public string Name { get; } = name;

    public string User { get; } = user;

    public string Status { get; } = status;

    public double CpuPercent { get; } = cpuPercent;

    public double MemoryPercent { get; } = memoryPercent;

    public string[] Cmdline { get; } = cmdline;

    public int Nice { get; } = nice;

    public int Threads { get; } = threads;

    public DateTimeOffset Started { get; } = started;
}
