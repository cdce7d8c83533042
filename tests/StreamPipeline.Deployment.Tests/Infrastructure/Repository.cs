using System.Net;
using System.Net.Sockets;

namespace StreamPipeline.Deployment.Tests.Infrastructure;

/// <summary>Paths in this checkout and free loopback ports.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration of this test assembly (bin/CONFIG/net10.0), used for the services too.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string ServiceDll(string project)
    {
        var assembly = project == "StreamPipeline.Cli" ? "spctl" : project;
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/{project} first (the test project references it).", path);
    }

    /// <summary>A port free right now on 127.0.0.1 (bound and released).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamPipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("StreamPipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
