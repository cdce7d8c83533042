namespace StreamPipeline.Benchmarks;

/// <summary>A load harness: a whole-system measurement run as <c>-- &lt;Name&gt; [args]</c>; prints its results as a Markdown table.</summary>
public interface IHarness
{
    string Name { get; }
    string Description { get; }
    /// <summary>Every flag the harness reads, with its default; <c>--help</c> prints them and anything else is refused.</summary>
    IReadOnlyList<HarnessOption> Options { get; }

    Task<int> RunAsync(HarnessArguments args);
}
