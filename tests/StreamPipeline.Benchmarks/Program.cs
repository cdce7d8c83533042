using System.Reflection;
using BenchmarkDotNet.Running;
using StreamPipeline.Benchmarks;

// Two kinds of measurement live here:
//   dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- <harness> [args]   a load harness (IHarness)
//   dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- --filter '*Name*'  BenchmarkDotNet micro-benchmarks
var harnesses = typeof(IHarness).Assembly.GetTypes()
    .Where(t => typeof(IHarness).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IHarness)Activator.CreateInstance(t)!)
    .ToDictionary(h => h.Name, StringComparer.OrdinalIgnoreCase);

if (args.Length > 0 && harnesses.TryGetValue(args[0], out var harness))
{
    return await harness.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] is "list")
{
    foreach (var h in harnesses.Values) Console.WriteLine($"{h.Name}: {h.Description}");
    return 0;
}

BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
return 0;
