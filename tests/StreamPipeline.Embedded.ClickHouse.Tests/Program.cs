using StreamPipeline.Embedded.ClickHouse;

namespace StreamPipeline.Embedded.ClickHouse.Tests;

/// <summary>
/// The test host runs the tests through the test SDK; started directly (<c>dotnet StreamPipeline.Embedded.ClickHouse.Tests.dll
/// start DATAPATH</c>) it is the "other process" of the locked-DataPath test: it tries to start on that path and prints
/// the outcome.
/// </summary>
public static class Program
{
    public const int StartedExitCode = 0;
    public const int RefusedExitCode = 3;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "start")
        {
            await Console.Error.WriteLineAsync("usage: start DATAPATH");
            return 2;
        }

        try
        {
            await using var clickHouse = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { DataPath = args[1] });
            Console.WriteLine("started");
            return StartedExitCode;
        }
        catch (EmbeddedClickHouseException e)
        {
            Console.WriteLine(e.Message);
            return RefusedExitCode;
        }
    }
}
