using System.Reflection;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.Deployment.Tests.Logging;

/// <summary>
/// Issue 11 guardrails: one log event-id scheme. Each assembly owns a range (docs/deploy.md, "Log event ids"), so an id
/// in a log line names its component and no two events share one, even in the local stack where every service shares
/// a process. Regression: the fleet page's 1301-1304 were also the connector's authentication events.
/// </summary>
public sealed class LogEventIdSchemeTests
{
    /// <summary>The scheme, as documented. An assembly that logs and is not listed fails the test until it gets a range.</summary>
    private static readonly Dictionary<string, (int First, int Last)> Ranges = new(StringComparer.Ordinal)
    {
        ["StreamPipeline.EdgeConnector"] = (1000, 1999),
        ["StreamPipeline.Dispatcher"] = (2000, 2999),
        ["StreamPipeline.Kafka"] = (3000, 3999),
        ["StreamPipeline.Sink"] = (4000, 4999),
        ["StreamPipeline.LocalStack"] = (5000, 5999),
        ["StreamPipeline.ServiceDefaults"] = (6000, 6999),
        ["StreamPipeline.AgentSimulator"] = (7000, 7999),
        ["StreamPipeline.Embedded.ClickHouse"] = (8000, 8499),
        ["StreamPipeline.Embedded.SchemaRegistry"] = (8500, 8999),
        ["StreamPipeline.Embedded.Kafka"] = (9000, 9499),
        ["spctl"] = (9500, 9999),
        ["StreamPipeline.Protocol"] = (9500, 9999),
    };

    [Fact]
    public void LoggerMessages_EveryAssembly_IdsInItsRangeAndUnique()
    {
        var events = ServiceAssemblies().SelectMany(LoggerMessages).ToList();
        Assert.True(events.Count > 50, $"found only {events.Count} [LoggerMessage] methods: the scan is not seeing the services");

        var problems = new List<string>();
        foreach (var (assembly, method, id) in events)
        {
            if (!Ranges.TryGetValue(assembly, out var range))
            {
                problems.Add($"{assembly} logs ({method}) but has no event-id range: add one to docs/deploy.md and this test");
            }
            else if (id < range.First || id > range.Last)
            {
                problems.Add($"{method} in {assembly} uses event id {id}, outside its range {range.First}-{range.Last}");
            }
        }

        foreach (var duplicate in events.GroupBy(e => e.Id).Where(g => g.Count() > 1))
        {
            problems.Add($"event id {duplicate.Key} is used by {string.Join(", ", duplicate.Select(e => e.Method))}");
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private static IEnumerable<Assembly> ServiceAssemblies()
    {
        // Every assembly the services ship (the test project references them all; their dlls sit beside this one).
        var names = Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && (n.StartsWith("StreamPipeline.", StringComparison.Ordinal) || n == "spctl")
                && !n.EndsWith(".Tests", StringComparison.Ordinal) && n != "StreamPipeline.Testing");
        return names.Select(n => Assembly.Load(new AssemblyName(n!)));
    }

    private static IEnumerable<(string Assembly, string Method, int Id)> LoggerMessages(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var name = assembly.GetName().Name!;
        foreach (var type in Types(assembly))
        {
            foreach (var method in type.GetMethods(all))
            {
                var attribute = method.GetCustomAttribute<LoggerMessageAttribute>();
                if (attribute is not null)
                {
                    yield return (name, $"{type.FullName}.{method.Name}", attribute.EventId);
                }
            }
        }
    }

    private static Type[] Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.Where(t => t is not null).ToArray()!;
        }
    }
}
