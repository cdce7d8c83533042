using System.Globalization;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Cli;

/// <summary>
/// Command-line options of <c>spctl</c>: <c>--name value</c> pairs and <c>--flag</c>s after the verb. Kafka and registry
/// addresses come from <c>--bootstrap</c>/<c>--registry</c> or the services' own environment variables.
/// </summary>
internal sealed class CliSettings
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public string Verb { get; private set; } = "";

    /// <summary>Words after the verb (<c>spctl tokens issue web-042</c>: <c>issue</c>, <c>web-042</c>); only verbs with sub-commands take them.</summary>
    public List<string> Arguments { get; } = [];

    private static readonly HashSet<string> VerbsWithArguments = new(StringComparer.Ordinal) { "tokens" };

    public string BootstrapServers => Get("bootstrap") ?? Environment.GetEnvironmentVariable("StreamPipeline__Kafka__BootstrapServers") ?? "127.0.0.1:9092";
    public string RegistryUrl => Get("registry") ?? Environment.GetEnvironmentVariable("StreamPipeline__Kafka__SchemaRegistryUrl") ?? "http://127.0.0.1:8081";
    public string CommandsTopic => Get("commands-topic") ?? PipelineTopics.Commands;
    public string ResultsTopic => Get("results-topic") ?? PipelineTopics.CommandResults;
    public string PresenceTopic => Get("presence-topic") ?? PipelineTopics.Presence;
    public string CredentialsTopic => Get("credentials-topic") ?? PipelineTopics.Credentials;
    public string AuditTopic => Get("audit-topic") ?? PipelineTopics.CredentialAudit;

    /// <summary>Prefix of the <c>Kafka:Client</c> settings in the environment, the same variables the services read.</summary>
    public const string ClientSettingsPrefix = "StreamPipeline__Kafka__Client__";

    /// <summary>
    /// Kafka settings through the same factory as the services: <c>StreamPipeline__Kafka__Client__security.protocol</c>,
    /// <c>..__sasl.mechanism</c> and so on reach every client spctl creates, and win over its defaults.
    /// </summary>
    public KafkaOptions Kafka
    {
        get
        {
            var options = new KafkaOptions { BootstrapServers = BootstrapServers, SchemaRegistryUrl = RegistryUrl };
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                if (e.Key is string key && key.StartsWith(ClientSettingsPrefix, StringComparison.Ordinal) && e.Value is string value)
                {
                    options.Client[key[ClientSettingsPrefix.Length..]] = value;
                }
            }

            return options;
        }
    }

    public static bool TryParse(string[] args, out CliSettings settings, out string error)
    {
        settings = new CliSettings();
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                if (settings.Verb.Length > 0 && VerbsWithArguments.Contains(settings.Verb))
                {
                    settings.Arguments.Add(a);
                    continue;
                }

                if (settings.Verb.Length > 0)
                {
                    error = $"unexpected argument '{a}'";
                    return false;
                }

                settings.Verb = a;
                continue;
            }

            var name = a[2..];
            if (name is "wait" or "help" or "replace")
            {
                settings._values[name] = "true";
            }
            else if (i + 1 < args.Length)
            {
                settings._values[name] = args[++i];
            }
            else
            {
                error = $"option {a} needs a value";
                return false;
            }
        }

        return true;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>Durations as operators type them: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, or <c>hh:mm:ss</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var t = text.Trim();
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                value = TimeSpan.FromSeconds(n * scale);
                return true;
            }
        }

        return TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
