using System.Buffers;
using System.Collections.Concurrent;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Dispatcher.Hosting;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;

namespace StreamPipeline.Dispatcher.Tests.Dispatching;

/// <summary>
/// One test's world: its own topics and consumer group, dispatchers started in-process, and the test playing the
/// other systems (producing commands), the edge connectors (reading requests, answering, publishing presence) and the
/// results reader.
/// </summary>
internal sealed class TestBed : IAsyncDisposable
{
    public const int CommandPartitions = 2;
    public const int RequestPartitions = 3;
    private readonly DispatcherFixture _fx;
    private readonly CachedSchemaRegistryClient _registry;
    private readonly IProducer<string, AgentCommand> _commands;
    private readonly IProducer<string, ConnectorResponse> _responses;
    private readonly IProducer<string, byte[]> _raw;
    private readonly AgentPresenceAvroWriter _presenceWriter = new(1);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _readers = [];
    private readonly List<WebApplication> _dispatchers = [];

    private TestBed(DispatcherFixture fx, string suffix)
    {
        _fx = fx;
        Suffix = suffix;
        _registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fx.RegistryUrl });
        _commands = new ProducerBuilder<string, AgentCommand>(fx.Kafka.ProducerConfig())
            .SetValueSerializer(ContractSerdes.Serializer<AgentCommand>(_registry, ContractCodec.ToRecord)).Build();
        _responses = new ProducerBuilder<string, ConnectorResponse>(fx.Kafka.ProducerConfig())
            .SetValueSerializer(ContractSerdes.Serializer<ConnectorResponse>(_registry, ContractCodec.ToRecord)).Build();
        _raw = new ProducerBuilder<string, byte[]>(fx.Kafka.ProducerConfig()).Build();
    }

    public string Suffix { get; }
    public string Commands => "agent-commands-" + Suffix;
    public string Results => "command-results-" + Suffix;
    public string Requests => "connector-requests-" + Suffix;
    public string Responses => "connector-responses-" + Suffix;
    public string Late => "command-late-responses-" + Suffix;
    public string Presence => "agent-presence-" + Suffix;
    public string State => "dispatcher-state-" + Suffix;
    public string Group => "dispatchers-" + Suffix;
    public string BootstrapServers => _fx.Kafka.BootstrapServers;
    public string RegistryUrl => _fx.RegistryUrl;

    public ConcurrentQueue<(ConnectorRequest Request, int Partition)> SentRequests { get; } = new();
    public ConcurrentQueue<CommandResult> PublishedResults { get; } = new();
    public ConcurrentQueue<ConnectorResponse> LateResponses { get; } = new();

    public static async Task<TestBed> StartAsync(DispatcherFixture fx)
    {
        var bed = new TestBed(fx, Guid.NewGuid().ToString("N")[..12]);
        await fx.Kafka.Topics.EnsureTopicsAsync(
        [
            new(bed.Commands, CommandPartitions, 1), new(bed.Responses, CommandPartitions, 1), new(bed.Requests, RequestPartitions, 1),
            new(bed.Results, 3, 1), new(bed.Late, 1, 1), new(bed.Presence, 2, 1), new(bed.State, CommandPartitions, 1),
        ], CancellationToken.None);
        bed.Read(bed.Requests, RequestPartitions, r => ContractCodec.ToConnectorRequest(r), (v, p) => bed.SentRequests.Enqueue((v, p)));
        bed.Read(bed.Results, 3, r => ContractCodec.ToCommandResult(r), (v, _) => bed.PublishedResults.Enqueue(v));
        bed.Read(bed.Late, 1, r => ContractCodec.ToConnectorResponse(r), (v, _) => bed.LateResponses.Enqueue(v));
        return bed;
    }

    public Dictionary<string, string?> Settings(string dispatcherId) => new()
    {
        ["Kafka:BootstrapServers"] = BootstrapServers,
        ["Kafka:SchemaRegistryUrl"] = RegistryUrl,
        ["Dispatcher:DispatcherId"] = dispatcherId,
        ["Dispatcher:GroupId"] = Group,
        ["Dispatcher:ListenAddress"] = "127.0.0.1",
        ["Dispatcher:OpsPort"] = "0",
        ["Dispatcher:TickInterval"] = "00:00:00.050",
        ["Dispatcher:DrainTimeout"] = "00:00:01",
        // The embedded mock holds a rebalance for about a session timeout when a member joins: 6 s (the smallest a real
        // broker allows by default) instead of 10 s saves that twice per dispatcher started. Dispatcher:StallTimeout (5 s) stays below it.
        ["Kafka:Client:session.timeout.ms"] = "6000",
        ["Dispatcher:CommandsTopic"] = Commands,
        ["Dispatcher:ResultsTopic"] = Results,
        ["Dispatcher:ConnectorRequestsTopic"] = Requests,
        ["Dispatcher:ConnectorResponsesTopic"] = Responses,
        ["Dispatcher:LateResponsesTopic"] = Late,
        ["Dispatcher:PresenceTopic"] = Presence,
        ["Dispatcher:StateTopic"] = State,
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>Starts a dispatcher in this process and waits until it is ready.</summary>
    public async Task<WebApplication> StartDispatcherAsync(string id = "d1", IReadOnlyDictionary<string, string?>? overrides = null, bool waitReady = true)
    {
        var settings = Settings(id);
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>()) settings[k] = v;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddDispatcher();
        var app = builder.Build();
        app.MapDispatcher();
        await app.StartAsync();
        _dispatchers.Add(app);
        if (waitReady)
        {
            var worker = app.Services.GetRequiredService<DispatcherWorker>();
            await Eventually.TrueAsync(() => worker.IsReady, TimeSpan.FromSeconds(30), $"dispatcher {id} ready ({worker.Describe()})");
        }

        return app;
    }

    public async Task StopDispatcherAsync(WebApplication app, bool kill = false)
    {
        if (kill) await app.Services.GetRequiredService<DispatcherWorker>().KillAsync();
        await app.StopAsync();
        await app.DisposeAsync();
        _dispatchers.Remove(app);
    }

    public static AgentCommand Command(string agentId, string action, string? payload = null, DateTimeOffset? deadline = null, string? commandId = null) =>
        new(commandId ?? Guid.NewGuid().ToString(), agentId, action, payload, deadline, DateTimeOffset.UtcNow, "tests");

    public async Task SendAsync(AgentCommand command) =>
        await _commands.ProduceAsync(Commands, new Message<string, AgentCommand> { Key = command.AgentId, Value = command });

    /// <summary>Produces a command to one partition of the commands topic (still keyed by agent id); returns its offset.</summary>
    public async Task<long> SendAsync(AgentCommand command, int partition) =>
        (await _commands.ProduceAsync(new TopicPartition(Commands, partition), new Message<string, AgentCommand> { Key = command.AgentId, Value = command })).Offset.Value;

    /// <summary>Produces raw bytes (another team's record, garbage) to a topic partition; returns the offset.</summary>
    public async Task<long> ProduceRawAsync(string topic, int partition, string? key, byte[] value) =>
        (await _raw.ProduceAsync(new TopicPartition(topic, partition), new Message<string, byte[]> { Key = key!, Value = value })).Offset.Value;

    /// <summary>The schema registry the dispatchers use (tests register other teams' variants of a schema).</summary>
    public ISchemaRegistryClient Registry => _registry;

    /// <summary>Every record of a topic from the beginning, as raw key, value and position (the topic is not being written meanwhile).</summary>
    public List<(string? Key, byte[] Value, int Partition, long Offset)> ReadAll(string topic, int partitions)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "dump-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<(string?, byte[], int, long)>();
        var open = partitions;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (open > 0 && DateTime.UtcNow < deadline)
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr is null) continue;
            if (cr.IsPartitionEOF) { open--; continue; }
            records.Add((cr.Message.Key, cr.Message.Value, cr.Partition.Value, cr.Offset.Value));
        }

        consumer.Close();
        return records;
    }

    /// <summary>One counter of a service's /metrics (Prometheus text), summed over the series that contain <paramref name="labelFilter"/>.</summary>
    public static async Task<double> MetricAsync(WebApplication dispatcher, string name, string labelFilter = "")
    {
        var address = dispatcher.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First(a => a.StartsWith("http:", StringComparison.Ordinal));
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)), "/metrics"));
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || !line.Contains(labelFilter, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length > 0 && rest[0] != '{' && rest[0] != ' ') continue;
            // "name{labels} value [timestamp]": the value is the first token after the labels.
            var afterLabels = rest.Length > 0 && rest[0] == '{' ? rest[(rest.LastIndexOf('}') + 1)..] : rest;
            var value = afterLabels.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            if (double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var v)) sum += v;
        }

        return sum;
    }

    public void PublishPresence(string agentId, string connectorId, string sessionId, long epoch, PresenceStatus status)
    {
        var buffer = new ArrayBufferWriter<byte>();
        _presenceWriter.Write(new AgentPresence
        {
            AgentId = agentId, ConnectorId = connectorId, SessionId = sessionId, Epoch = epoch, Status = status,
            Reason = "test", EventTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ConnectedTimeMs = epoch,
        }, buffer);
        _raw.Produce(Presence, new Message<string, byte[]> { Key = agentId, Value = buffer.WrittenSpan.ToArray() });
        _raw.Flush(TimeSpan.FromSeconds(10));
    }

    public void Connected(string agentId, string connectorId, long epoch) => PublishPresence(agentId, connectorId, $"{connectorId}-s{epoch}", epoch, PresenceStatus.Connected);

    public void Disconnected(string agentId, string connectorId, long epoch) => PublishPresence(agentId, connectorId, $"{connectorId}-s{epoch}", epoch, PresenceStatus.Disconnected);

    /// <summary>Answers a request as its connector would, on the command's partition of the responses topic.</summary>
    public async Task RespondAsync(ConnectorRequest request, ConnectorResponseKind kind = ConnectorResponseKind.Response, string? json = "{\"status\":\"ok\"}", string? connectorId = null) =>
        await _responses.ProduceAsync(new TopicPartition(Responses, request.ReplyPartition), new Message<string, ConnectorResponse>
        {
            Key = request.CommandId,
            Value = new ConnectorResponse(request.CommandId, request.AgentId, connectorId ?? request.ConnectorId, request.RequestId, kind,
                kind == ConnectorResponseKind.Response ? json : null, DateTimeOffset.UtcNow),
        });

    public async Task<(ConnectorRequest Request, int Partition)> WaitForRequestAsync(string commandId, int count = 1, int timeoutSeconds = 20)
    {
        var all = await Eventually.ReturnsAsync(
            () => Task.FromResult(SentRequests.Where(r => r.Request.CommandId == commandId).ToList()),
            l => l.Count >= count, TimeSpan.FromSeconds(timeoutSeconds), $"{count} request(s) for command {commandId}");
        return all[count - 1];
    }

    public async Task<CommandResult> WaitForResultAsync(string commandId, int timeoutSeconds = 20) =>
        await Eventually.ReturnsAsync(
            () => Task.FromResult(PublishedResults.FirstOrDefault(r => r.CommandId == commandId)),
            r => r is not null, TimeSpan.FromSeconds(timeoutSeconds), $"the result of command {commandId}") ?? throw new InvalidOperationException();

    public int ResultCount(string commandId) => PublishedResults.Count(r => r.CommandId == commandId);

    public int RequestCount(string commandId) => SentRequests.Count(r => r.Request.CommandId == commandId);

    private void Read<T>(string topic, int partitions, Func<GenericRecord, T> map, Action<T, int> sink)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        var deserializer = new AvroDeserializer<GenericRecord>(_registry).AsSyncOverAsync();
        _readers.Add(Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<string, GenericRecord>(config).SetValueDeserializer(deserializer).Build();
            consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            while (!_stop.IsCancellationRequested)
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(50));
                if (cr?.Message?.Value is not null) sink(map(cr.Message.Value), cr.Partition.Value);
            }

            consumer.Close();
        }, TaskCreationOptions.LongRunning));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _dispatchers.ToArray())
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_readers);
        _commands.Dispose();
        _responses.Dispose();
        _raw.Dispose();
        _registry.Dispose();
        _stop.Dispose();
    }
}
