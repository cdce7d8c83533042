using Polly;
using Polly.Retry;

namespace StreamPipeline.Kafka.Resilience;

/// <summary>
/// The one retry idiom of the services' start-up and plumbing: Polly, exponential backoff with jitter, on a
/// <see cref="TimeProvider"/>. Only what the caller calls transient is retried; a permanent failure (a 409 from the
/// registry, a missing topic) goes straight through.
/// </summary>
public static class Retry
{
    /// <summary>
    /// Retries forever (until <c>cancellationToken</c>) while <paramref name="transient"/> says so: from
    /// <paramref name="first"/> doubling up to <paramref name="max"/>, each delay jittered. <paramref name="onRetry"/>
    /// sees the failure and the delay before the next attempt (log it).
    /// </summary>
    public static ResiliencePipeline Forever(Func<Exception, bool> transient, Action<Exception, TimeSpan> onRetry, TimeProvider? time = null,
        TimeSpan? first = null, TimeSpan? max = null) =>
        Forever(transient, (e, delay, _) => onRetry(e, delay), time, first, max);

    /// <summary>
    /// As <see cref="Forever(Func{Exception, bool}, Action{Exception, TimeSpan}, TimeProvider?, TimeSpan?, TimeSpan?)"/>,
    /// for a pipeline built once and shared by many operations: <paramref name="onRetry"/> also sees the execution's
    /// <see cref="ResilienceContext"/>, whose properties say which operation is retried.
    /// </summary>
    public static ResiliencePipeline Forever(Func<Exception, bool> transient, Action<Exception, TimeSpan, ResilienceContext> onRetry, TimeProvider? time = null,
        TimeSpan? first = null, TimeSpan? max = null) =>
        new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(transient),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = first ?? TimeSpan.FromMilliseconds(200),
                MaxDelay = max ?? TimeSpan.FromSeconds(10),
                OnRetry = args =>
                {
                    onRetry(args.Outcome.Exception!, args.RetryDelay, args.Context);
                    return default;
                },
            })
            .Build();
}
