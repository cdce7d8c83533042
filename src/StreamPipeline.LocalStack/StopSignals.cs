using System.Runtime.InteropServices;
using StreamPipeline.ServiceDefaults.Hosting;

namespace StreamPipeline.LocalStack;

/// <summary>
/// SIGTERM, SIGINT (Ctrl-C) and SIGQUIT all start the same drain. .NET 10 no longer raises <c>ProcessExit</c> for
/// SIGTERM, so the signals are taken directly. The stop is bounded: past <see cref="LocalStackOptions.StopTimeout"/> the
/// process ends with <see cref="ServiceExitCodes.ShutdownTimedOut"/>; a second signal ends it at once
/// (<see cref="ServiceExitCodes.Interrupted"/>).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly TimeSpan _budget;
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public StopSignals(CancellationTokenSource stop, TimeSpan budget)
    {
        _stop = stop;
        _budget = budget;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal),
        ];
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _received) > 1)
        {
            Console.Error.WriteLine($"{context.Signal} again: exiting now without finishing the drain (exit code {ServiceExitCodes.Interrupted}).");
            ServiceRunner.ExitNow(ServiceExitCodes.Interrupted);
            return;
        }

        Console.WriteLine($"{context.Signal} received: stopping (at most {_budget.TotalSeconds:0} s; a second signal exits at once).");
        var watchdog = new Thread(() =>
        {
            Thread.Sleep(_budget);
            Console.Error.WriteLine($"Stopping took longer than LocalStack:StopTimeout ({_budget.TotalSeconds:0} s); exiting with code {ServiceExitCodes.ShutdownTimedOut}.");
            ServiceRunner.ExitNow(ServiceExitCodes.ShutdownTimedOut);
        })
        {
            IsBackground = true,
            Name = "stop-watchdog",
        };
        watchdog.Start();
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
