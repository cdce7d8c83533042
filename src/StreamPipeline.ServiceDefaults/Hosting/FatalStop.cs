using Microsoft.Extensions.Hosting;

namespace StreamPipeline.ServiceDefaults.Hosting;

/// <summary>The one way a service ends itself on a fatal condition: the host drains as on SIGTERM, then exits with the named code.</summary>
public static class FatalStop
{
    /// <param name="exitCode">One of <see cref="ServiceExitCodes"/>.</param>
    public static void StopApplication(this IHostApplicationLifetime lifetime, int exitCode)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        Environment.ExitCode = exitCode;
        lifetime.StopApplication();
    }
}
