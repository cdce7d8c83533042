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
    var (arguments, exitCode) = HarnessArguments.Parse(harness, args[1..], Console.Out, Console.Error);
    return arguments is null ? exitCode : await harness.RunAsync(arguments);
}

if (args.Length > 0 && args[0] is "list" or "--help" or "-h")
{
    foreach (var h in harnesses.Values) Console.WriteLine($"{h.Name}: {h.Description}");
    Console.WriteLine("<harness> --help prints a harness's flags; --filter '*Name*' runs BenchmarkDotNet micro-benchmarks.");
    return 0;
}

BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
return 0;
