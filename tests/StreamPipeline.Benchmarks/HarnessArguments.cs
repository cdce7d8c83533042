using System.Globalization;
using System.Text;

namespace StreamPipeline.Benchmarks;

/// <summary>One flag of a load harness: its name, its default and what it sets (printed by <c>--help</c>).</summary>
public sealed record HarnessOption(string Name, string Default, string Help, bool IsList = false)
{
    public static HarnessOption Number(string name, int fallback, string help) =>
        new(name, fallback.ToString(CultureInfo.InvariantCulture), help);

    public static HarnessOption Numbers(string name, int[] fallback, string help) =>
        new(name, string.Join(',', fallback), help, IsList: true);
}

/// <summary>
/// The parsed command line of a load harness. Parsing is strict: <c>--help</c> prints the usage instead of starting a
/// run, and an unknown flag, a flag without a value or a value that is not a number is refused with the usage, so a typo
/// never starts a 20-minute run on the defaults (issue 12).
/// </summary>
public sealed class HarnessArguments
{
    private readonly Dictionary<string, string> _values;

    private HarnessArguments(Dictionary<string, string> values) => _values = values;

    /// <summary>The exit code of a refused command line (as <c>sysexits</c>' EX_USAGE would be too exotic: 2, like getopt tools).</summary>
    public const int UsageExitCode = 2;

    public int Number(string name) => int.Parse(Value(name), CultureInfo.InvariantCulture);

    public int[] Numbers(string name) => Value(name).Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private string Value(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"The harness reads {name}, which it does not declare in its Options.", nameof(name));

    /// <summary>Parses <paramref name="args"/> against <paramref name="harness"/>'s options; null and an exit code when the run must not start.</summary>
    public static (HarnessArguments? Arguments, int ExitCode) Parse(IHarness harness, string[] args, TextWriter output, TextWriter error)
    {
        var values = harness.Options.ToDictionary(o => o.Name, o => o.Default, StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                output.Write(Usage(harness));
                return (null, 0);
            }

            var option = harness.Options.FirstOrDefault(o => o.Name == arg);
            if (option is null)
            {
                return Refuse(harness, error, $"{harness.Name}: unknown argument '{arg}'.");
            }

            if (i + 1 >= args.Length)
            {
                return Refuse(harness, error, $"{harness.Name}: {arg} needs a value ({(option.IsList ? "comma-separated numbers" : "a number")}).");
            }

            var value = args[++i];
            var parts = option.IsList ? value.Split(',') : [value];
            if (parts.Any(p => !int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            {
                return Refuse(harness, error, $"{harness.Name}: {arg} '{value}' is not {(option.IsList ? "a comma-separated list of whole numbers" : "a whole number")}.");
            }

            values[arg] = value;
        }

        return (new HarnessArguments(values), 0);
    }

    public static string Usage(IHarness harness)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"usage: StreamPipeline.Benchmarks {harness.Name} [options]");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {harness.Description}");
        text.AppendLine();
        var width = harness.Options.Count == 0 ? 0 : harness.Options.Max(o => o.Name.Length + o.Default.Length) + 4;
        foreach (var option in harness.Options)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {(option.Name + " " + option.Default).PadRight(width)}{option.Help}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--help".PadRight(width)}print this and exit");
        return text.ToString();
    }

    private static (HarnessArguments?, int) Refuse(IHarness harness, TextWriter error, string message)
    {
        error.WriteLine(message);
        error.Write(Usage(harness));
        return (null, UsageExitCode);
    }
}
