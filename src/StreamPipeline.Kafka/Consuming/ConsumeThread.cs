namespace StreamPipeline.Kafka.Consuming;

/// <summary>
/// A blocking Kafka consume loop on its own named background thread: <c>Consume</c> blocks, so it must not hold a
/// thread-pool thread, and the name shows in a dump. The returned task completes when the loop returns (or ends by
/// its cancellation) and faults with whatever else the loop threw, so the owner can turn that into a fatal stop
/// (<c>ServiceExitCodes</c>) instead of a thread that died unseen.
/// </summary>
public static class ConsumeThread
{
    public static Task Start(string name, Action<CancellationToken> loop, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                loop(stop);
                done.TrySetResult();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
