using Confluent.Kafka;
using Confluent.SchemaRegistry;
using StreamPipeline.Cli.Commands;

namespace StreamPipeline.Cli;

/// <summary>The operator CLI: send a command and wait for its result, list online agents, show recent results, manage agent tokens.</summary>
public static class Spctl
{
    /// <summary>Exit codes, documented in docs/commands.md.</summary>
    public const int Ok = 0, NotOk = 1, Usage = 2, NoResult = 3, Unreachable = 4;

    public const string Help = """
        spctl: operate StreamPipeline commands

          spctl send --agent ID --action ACTION [--payload JSON] [--deadline 30s] [--wait] [--wait-timeout 90s] [--requested-by NAME]
          spctl agents
          spctl results [--last 20]
          spctl tokens issue AGENT_ID | revoke AGENT_ID | list | import FILE.csv|-   agent tokens in the shared
                                        credential store (EdgeConnector:CredentialStore=kafka); tokens printed once

        Common options (or environment variables):
          --bootstrap HOST:PORT[,...]   StreamPipeline__Kafka__BootstrapServers (default 127.0.0.1:9092)
          --registry URL                StreamPipeline__Kafka__SchemaRegistryUrl (default http://127.0.0.1:8081)
          --commands-topic, --results-topic, --presence-topic   topic names when not the defaults
          StreamPipeline__Kafka__Client__<librdkafka key>=value   e.g. security.protocol, sasl.mechanism: as for the services

        Exit codes: 0 ok; 1 the command's result is not ok (error, timeout, expired, rejected);
                    2 invalid arguments, payload or Kafka client setting; 3 no result before the deadline; 4 Kafka or Schema Registry unreachable.
        """;

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct) =>
        RunAsync(args, stdout, stderr, Console.In, ct);

    /// <summary>Runs one spctl command; <paramref name="stdin"/> is read by <c>tokens import -</c>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!CliSettings.TryParse(args, out var settings, out var error))
        {
            await stderr.WriteLineAsync($"spctl: {error}\n\n{Help}");
            return Usage;
        }

        try
        {
            return settings.Verb switch
            {
                "send" => await SendCommand.RunAsync(settings, stdout, stderr, ct),
                "agents" => await AgentsCommand.RunAsync(settings, stdout, stderr, ct),
                "results" => await ResultsCommand.RunAsync(settings, stdout, stderr, ct),
                "tokens" => await TokensCommand.RunAsync(settings, stdout, stderr, stdin, ct),
                "" or "help" => await WriteHelpAsync(stdout, Ok),
                _ => await WriteHelpAsync(stderr, Usage, $"spctl: unknown command '{settings.Verb}'\n\n"),
            };
        }
        catch (ArgumentException e) when (e.Message.Contains("configuration property", StringComparison.Ordinal))
        {
            // librdkafka refuses a setting when the client is built, e.g. a mistyped StreamPipeline__Kafka__Client__security.protocol.
            await stderr.WriteLineAsync($"spctl: invalid Kafka client setting: {e.Message}. Check the StreamPipeline__Kafka__Client__* variables.");
            return Usage;
        }
        catch (Exception e) when (e is KafkaException or SchemaRegistryException or HttpRequestException or StreamPipeline.Kafka.Topics.TopicMissingException)
        {
            await stderr.WriteLineAsync(
                $"spctl: cannot reach Kafka at {settings.BootstrapServers} or the Schema Registry at {settings.RegistryUrl}: {e.Message}. " +
                "Check --bootstrap/--registry (or StreamPipeline__Kafka__BootstrapServers / StreamPipeline__Kafka__SchemaRegistryUrl).");
            return Unreachable;
        }
    }

    private static async Task<int> WriteHelpAsync(TextWriter writer, int code, string prefix = "")
    {
        await writer.WriteLineAsync(prefix + Help);
        return code;
    }
}
