using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace StreamPipeline.ServiceDefaults.Hosting;

/// <summary>
/// Runs a service until SIGTERM/SIGINT (the host's console lifetime turns both into a graceful stop: the same drain
/// as Ctrl-C) and turns the outcome into one of <see cref="ServiceExitCodes"/>. The stop is bounded: if the drain
/// and flush take longer than <see cref="HostOptions.ShutdownTimeout"/> plus <see cref="WatchdogGrace"/> (a native
/// client blocked in a flush, say), the process ends itself with <see cref="ServiceExitCodes.ShutdownTimedOut"/>, so
/// an orchestrator's <c>terminationGracePeriodSeconds</c> sized from the documented budgets is never hit first.
/// </summary>
public static partial class ServiceRunner
{
    /// <summary>Time past the host's shutdown timeout before the watchdog ends the process.</summary>
    public static readonly TimeSpan WatchdogGrace = TimeSpan.FromSeconds(5);

    public static async Task<int> RunServiceAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var budget = app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout + WatchdogGrace;
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var watchdog = lifetime.ApplicationStopping.Register(() => StartWatchdog(budget));
        try
        {
            await app.RunAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            await Console.Error.WriteLineAsync("Invalid configuration:\n  " + string.Join("\n  ", e.Failures)).ConfigureAwait(false);
            return ServiceExitCodes.StartFailed;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException or SocketException)
        {
            await Console.Error.WriteLineAsync("Could not listen: " + e.Message + " Choose another port (the service's *Port setting).").ConfigureAwait(false);
            return ServiceExitCodes.StartFailed;
        }

        return Environment.ExitCode;
    }

    /// <summary>A dedicated thread, not a timer: it must fire even when the thread pool is wedged by the stuck drain.</summary>
    private static void StartWatchdog(TimeSpan budget)
    {
        var thread = new Thread(() =>
        {
            Thread.Sleep(budget);
            Console.Error.WriteLine($"Shutdown did not finish within {budget.TotalSeconds:0} s (HostOptions.ShutdownTimeout + {WatchdogGrace.TotalSeconds:0} s); exiting with code {ServiceExitCodes.ShutdownTimedOut}.");
            ExitNow(ServiceExitCodes.ShutdownTimedOut);
        })
        {
            IsBackground = true,
            Name = "shutdown-watchdog",
        };
        thread.Start();
    }

    /// <summary>Ends the process at once (libc <c>_exit</c>): no atexit handlers and no native static destructors that could hang too.</summary>
    public static void ExitNow(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Exit(code);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int status);
}
