namespace StreamPipeline.AgentSimulator.Host;

/// <summary>
/// The fixed identity of one simulated server (what <c>get-server-info</c> reports, its disks and interfaces),
/// derived from the agent number and the fleet's seed so the same agent looks the same on every run.
/// </summary>
internal sealed class HostProfile
{
    private static readonly string[] Roles = ["web", "db", "cache", "worker", "api", "batch"];

    private static readonly (string Os, string Version, string Kernel)[] Distributions =
    [
        ("Linux", "Ubuntu 22.04.4 LTS", "5.15.0-105-generic"),
        ("Linux", "Ubuntu 24.04.1 LTS", "6.8.0-45-generic"),
        ("Linux", "Debian GNU/Linux 12 (bookworm)", "6.1.0-25-amd64"),
        ("Linux", "Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.13.1.el9_4.x86_64"),
        ("Linux", "Amazon Linux 2023", "6.1.109-118.189.amzn2023.x86_64"),
    ];

    private static readonly string[] CpuModels =
    [
        "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
        "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        "AMD EPYC 7R13 Processor",
        "AMD EPYC 9454P 48-Core Processor",
        "Intel(R) Core(TM) i7-9700 CPU @ 3.00GHz",
    ];

    private static readonly (string Device, string Mount, string FsType)[] DiskLayouts =
    [
        ("/dev/nvme0n1p1", "/", "ext4"),
        ("/dev/nvme1n1", "/var/lib/data", "xfs"),
        ("/dev/sdb1", "/var/log", "ext4"),
        ("/dev/sdc1", "/backup", "xfs"),
    ];

    private static readonly int[] CoreChoices = [2, 4, 4, 8, 8, 16, 32];

    private HostProfile(int number, SimRandom random)
    {
        Role = Roles[random.Next(Roles.Length)];
        Hostname = $"{Role}-{number:D6}";
        IpAddress = $"10.{(number >> 16) & 0xFF}.{(number >> 8) & 0xFF}.{number & 0xFF}";
        var distribution = Distributions[random.Next(Distributions.Length)];
        Os = distribution.Os;
        OsVersion = distribution.Version;
        Kernel = distribution.Kernel;
        CpuModel = CpuModels[random.Next(CpuModels.Length)];
        Architecture = CpuModel.StartsWith("AMD EPYC 9", StringComparison.Ordinal) || random.Next(10) > 0 ? "x86_64" : "aarch64";
        CpuCores = CoreChoices[random.Next(CoreChoices.Length)];
        CpuThreads = random.Next(3) == 0 ? CpuCores : CpuCores * 2;
        RamTotalGb = CpuCores * (random.Next(2) == 0 ? 2.0 : 4.0);

        var diskCount = random.Next(1, 5);
        Disks = new DiskProfile[diskCount];
        for (var i = 0; i < diskCount; i++)
        {
            var layout = DiskLayouts[i];
            var total = Math.Round(random.Pick<double>([29.4, 48.9, 97.9, 195.8, 450.5, 983.2, 1967.6]), 1);
            Disks[i] = new DiskProfile(layout.Device, layout.Mount, layout.FsType, total, total * random.NextDouble(0.05, 0.7));
        }

        var nicCount = random.Next(1, 4);
        Interfaces = new InterfaceProfile[nicCount];
        for (var i = 0; i < nicCount; i++)
        {
            var mac = $"02:{random.Next(256):x2}:{random.Next(256):x2}:{(number >> 8) & 0xFF:x2}:{number & 0xFF:x2}:{i:x2}";
            var ipv4 = i == 0 ? IpAddress : $"172.{16 + i}.{(number >> 8) & 0xFF}.{number & 0xFF}";
            var ipv6 = $"fe80::{random.Next(0x10000):x}:{random.Next(0x10000):x}:{(number >> 16) & 0xFFFF:x}:{number & 0xFFFF:x}";
            Interfaces[i] = new InterfaceProfile(i == 0 ? "eth0" : $"eth{i}", mac, ipv4, ipv6, i == 0 ? 10.0 : 2.0);
        }

        BootAgo = TimeSpan.FromSeconds(random.Next(3_600, 90 * 86_400));
    }

    public string Role { get; }

    public string Hostname { get; }

    public string IpAddress { get; }

    public string Os { get; }

    public string OsVersion { get; }

    public string Kernel { get; }

    public string Architecture { get; }

    public string CpuModel { get; }

    public int CpuCores { get; }

    public int CpuThreads { get; }

    public double RamTotalGb { get; }

    public DiskProfile[] Disks { get; }

    public InterfaceProfile[] Interfaces { get; }

    /// <summary>How long the host had been up when the simulator started it.</summary>
    public TimeSpan BootAgo { get; }

    public static HostProfile Create(int number, int seed) =>
        new(number, new SimRandom(SimRandom.Mix((ulong)number, (ulong)(uint)seed)));
}

internal sealed record DiskProfile(string Device, string MountPoint, string FsType, double TotalGb, double InitialUsedGb);

internal sealed record InterfaceProfile(string Name, string Mac, string Ipv4, string Ipv6, double BaseMbps);
