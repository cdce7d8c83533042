namespace StreamPipeline.Benchmarks;

/// <summary>A load harness: a whole-system measurement run as <c>-- &lt;Name&gt; [args]</c>; prints its results as a Markdown table.</summary>
public interface IHarness
{
    string Name { get; }
    string Description { get; }
    Task<int> RunAsync(string[] args);
}
