using StreamPipeline.Kafka.Topics;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Kafka.Contracts;
using Xunit.Abstractions;

namespace StreamPipeline.Dispatcher.Tests.Dispatching;

/// <summary>The dispatcher against the embedded Kafka and Schema Registry, the test playing the connectors.</summary>
public sealed class DispatcherTests(DispatcherFixture fx, ITestOutputHelper output) : IClassFixture<DispatcherFixture>
{
    [Fact]
    public async Task Commands_ValidationMatrix_InvalidRejectedAndNeverSent()
    {
        fx.Kafka.Describe(output);
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-1", "c-1", 1_000);
        await bed.StartDispatcherAsync();

        (string Action, string? Payload, bool Valid)[] cases =
        [
            ("get-process", "{\"pid\":1234}", true),
            ("get-process", "{\"pid\":\"1234\"}", true),
            ("get-process", "{\"pid\":\"12a\"}", false),
            ("get-process", "{\"pid\":12.5}", false),
            ("get-process", "{\"pid\":null}", false),
            ("update-agent-config", "{\"metricsInterval\":0,\"watchlist\":[\"nginx\"]}", true),
            ("update-agent-config", "{\"metricsInterval\":3600,\"watchlist\":[]}", true),
            ("update-agent-config", "{\"metricsInterval\":-1,\"watchlist\":[]}", false),
            ("update-agent-config", "{\"metricsInterval\":3601,\"watchlist\":[]}", false),
            ("update-agent-config", "{\"metricsInterval\":10.5,\"watchlist\":[]}", false),
            ("update-agent-config", "{\"metricsInterval\":\"10\",\"watchlist\":[]}", false),
            ("update-agent-config", "{\"metricsInterval\":10,\"watchlist\":[1,2]}", false),
            ("get-service", "{\"name\":\"nginx\"}", true),
            ("restart-service", "{\"name\":\"\"}", false),
            ("get-service-log", null, false),
            ("rm-rf", null, false),
        ];
        var commands = cases.Select(c => (Case: c, Command: TestBed.Command("agent-1", c.Action, c.Payload))).ToList();
        foreach (var (_, command) in commands) await bed.SendAsync(command);

        foreach (var (c, command) in commands.Where(x => x.Case.Valid))
        {
            var (request, _) = await bed.WaitForRequestAsync(command.CommandId);
            Assert.Equal(c.Action, request.Action);
            if (c.Payload == "{\"pid\":\"1234\"}") Assert.Equal("{\"pid\":1234}", request.PayloadJson);
        }

        foreach (var (c, command) in commands.Where(x => !x.Case.Valid))
        {
            var result = await bed.WaitForResultAsync(command.CommandId);
            Assert.True(result.Status == CommandStatus.Rejected, $"{c.Action} {c.Payload}: expected rejected, got {result.Status}");
            Assert.Null(result.RequestId);
            Assert.False(string.IsNullOrEmpty(result.Error));
            output.WriteLine($"{c.Action} {c.Payload ?? "(none)"} -> rejected: {result.Error}");
        }

        Assert.All(commands.Where(x => !x.Case.Valid), x => Assert.Equal(0, bed.RequestCount(x.Command.CommandId)));
        Assert.All(commands.Where(x => x.Case.Valid), x => Assert.Equal(0, bed.ResultCount(x.Command.CommandId)));
    }

    [Fact]
    public async Task Command_DeadlineAlreadyPast_ExpiredAndNeverSent()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-1", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-1", "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(-1));
        await bed.SendAsync(command);

        var result = await bed.WaitForResultAsync(command.CommandId);

        Assert.Equal(CommandStatus.Expired, result.Status);
        Assert.Null(result.RequestId);
        Assert.Equal(0, bed.RequestCount(command.CommandId));
    }

    [Fact]
    public async Task Command_AgentOfflineThenConnected_SentToOwnerAndAnswered()
    {
        await using var bed = await TestBed.StartAsync(fx);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-7", "get-server-info");
        await bed.SendAsync(command);
        await Task.Delay(500);
        Assert.Equal(0, bed.RequestCount(command.CommandId));

        bed.Connected("agent-7", "connector-b", 5_000);
        var (request, partition) = await bed.WaitForRequestAsync(command.CommandId);
        Assert.Equal("connector-b", request.ConnectorId);
        Assert.Equal(ConnectorPartitioner.PartitionFor("connector-b", TestBed.RequestPartitions), partition);
        Assert.Equal(10_000, request.TimeoutMs);
        var (epoch, commandPartition, offset) = RequestIds.Decompose(request.RequestId);
        Assert.Equal((0, request.ReplyPartition), (epoch, commandPartition));
        Assert.True(offset >= 0);
        Assert.Equal("null", request.PayloadJson);

        await bed.RespondAsync(request, json: "{\"status\":\"ok\",\"data\":{\"hostname\":\"h1\"}}");
        var result = await bed.WaitForResultAsync(command.CommandId);

        Assert.Equal(CommandStatus.Ok, result.Status);
        Assert.Equal(request.RequestId, result.RequestId);
        Assert.Equal("{\"status\":\"ok\",\"data\":{\"hostname\":\"h1\"}}", result.ResponseJson);
        Assert.Equal("connector-b", result.ConnectorId);
        Assert.NotNull(result.DispatchedTime);
    }

    [Fact]
    public async Task Command_AgentOfflineUntilDeadline_Expired()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-2", "c-1", 1_000);
        bed.Disconnected("agent-2", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-2", "get-services", deadline: DateTimeOffset.UtcNow.AddSeconds(1.5));
        await bed.SendAsync(command);

        var result = await bed.WaitForResultAsync(command.CommandId);

        Assert.Equal(CommandStatus.Expired, result.Status);
        Assert.Equal("agent offline until the deadline", result.Error);
        Assert.Equal(0, bed.RequestCount(command.CommandId));
    }

    [Fact]
    public async Task Command_NoAnswerWithinActionTimeout_Timeout()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-3", "c-1", 1_000);
        await bed.StartDispatcherAsync(overrides: new Dictionary<string, string?> { ["Dispatcher:ActionTimeouts:get-processes"] = "00:00:01" });
        var command = TestBed.Command("agent-3", "get-processes");
        await bed.SendAsync(command);
        var (request, _) = await bed.WaitForRequestAsync(command.CommandId);
        Assert.Equal(1_000, request.TimeoutMs);

        var result = await bed.WaitForResultAsync(command.CommandId);

        Assert.Equal(CommandStatus.Timeout, result.Status);
        Assert.Equal(request.RequestId, result.RequestId);
        Assert.Contains("get-processes", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Response_AfterTimeout_RecordedAsLateWithOneResult()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-4", "c-1", 1_000);
        await bed.StartDispatcherAsync(overrides: new Dictionary<string, string?> { ["Dispatcher:ActionTimeouts:get-server-info"] = "00:00:00.500" });
        var command = TestBed.Command("agent-4", "get-server-info");
        await bed.SendAsync(command);
        var (request, _) = await bed.WaitForRequestAsync(command.CommandId);
        Assert.Equal(CommandStatus.Timeout, (await bed.WaitForResultAsync(command.CommandId)).Status);

        await bed.RespondAsync(request, json: "{\"status\":\"ok\",\"data\":{}}");
        await bed.RespondAsync(request, json: "{\"status\":\"ok\",\"data\":{}}");

        await Testing.Eventually.TrueAsync(() => bed.LateResponses.Count(r => r.CommandId == command.CommandId) == 2, TimeSpan.FromSeconds(20), "two late responses");
        await Task.Delay(300);
        Assert.Equal(1, bed.ResultCount(command.CommandId));
    }

    [Fact]
    public async Task Command_ReadOnlyWrittenThenAgentDisconnected_ResentWithSameIdToNextSession()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-5", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-5", "get-service", "{\"name\":\"nginx\"}");
        await bed.SendAsync(command);
        var (first, _) = await bed.WaitForRequestAsync(command.CommandId);
        Assert.Equal("c-1", first.ConnectorId);

        // The connector wrote it, then the session ended before the agent answered.
        await bed.RespondAsync(first, ConnectorResponseKind.AgentDisconnected);
        bed.Disconnected("agent-5", "c-1", 1_000);
        var marker = TestBed.Command("agent-5", "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(1));
        await bed.SendAsync(marker);
        Assert.Equal(CommandStatus.Expired, (await bed.WaitForResultAsync(marker.CommandId)).Status);
        Assert.Equal(1, bed.RequestCount(command.CommandId));

        bed.Connected("agent-5", "c-2", 2_000);
        var (second, partition) = await bed.WaitForRequestAsync(command.CommandId, count: 2);
        Assert.Equal("c-2", second.ConnectorId);
        Assert.Equal(first.RequestId, second.RequestId);
        Assert.Equal(ConnectorPartitioner.PartitionFor("c-2", TestBed.RequestPartitions), partition);

        await bed.RespondAsync(second, json: "{\"status\":\"error\",\"message\":\"unit nginx.service not found\"}");
        var result = await bed.WaitForResultAsync(command.CommandId);
        Assert.Equal(CommandStatus.Error, result.Status);
        Assert.Equal("unit nginx.service not found", result.Error);
        Assert.Equal("c-2", result.ConnectorId);
        Assert.Equal(1, bed.ResultCount(command.CommandId));
    }

    [Fact]
    public async Task Command_SideEffectingWrittenThenAgentDisconnected_OutcomeUnknownNeverResent()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-5", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-5", "restart-service", "{\"name\":\"nginx\"}");
        await bed.SendAsync(command);
        var (first, _) = await bed.WaitForRequestAsync(command.CommandId);

        await bed.RespondAsync(first, ConnectorResponseKind.AgentDisconnected);
        var result = await bed.WaitForResultAsync(command.CommandId);
        bed.Disconnected("agent-5", "c-1", 1_000);
        bed.Connected("agent-5", "c-2", 2_000);
        var marker = TestBed.Command("agent-5", "get-server-info");
        await bed.SendAsync(marker);
        await bed.WaitForRequestAsync(marker.CommandId);

        Assert.Equal(CommandStatus.OutcomeUnknown, result.Status);
        Assert.Contains("may have run", result.Error, StringComparison.Ordinal);
        Assert.Equal(first.RequestId, result.RequestId);
        Assert.Equal(1, bed.RequestCount(command.CommandId));
        Assert.Equal(1, bed.ResultCount(command.CommandId));
    }

    [Fact]
    public async Task Command_AgentMovesToAnotherConnectorInFlight_ResentThereWithSameId()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-6", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-6", "get-service-log", "{\"name\":\"db\"}");
        await bed.SendAsync(command);
        var (first, _) = await bed.WaitForRequestAsync(command.CommandId);

        // c-1 was killed and never says anything; the agent comes back on c-2.
        bed.Connected("agent-6", "c-2", 2_000);
        var (second, _) = await bed.WaitForRequestAsync(command.CommandId, count: 2);
        Assert.Equal(("c-2", first.RequestId), (second.ConnectorId, second.RequestId));

        // A stale report from the old connector changes nothing.
        await bed.RespondAsync(first, ConnectorResponseKind.AgentDisconnected);
        await bed.RespondAsync(second, json: "[{\"log\":\"line 1\"}]");
        var result = await bed.WaitForResultAsync(command.CommandId);
        Assert.Equal(CommandStatus.Ok, result.Status);
        Assert.Equal("[{\"log\":\"line 1\"}]", result.ResponseJson);
        await Task.Delay(300);
        Assert.Equal(2, bed.RequestCount(command.CommandId));
        Assert.Equal(1, bed.ResultCount(command.CommandId));
    }

    [Fact]
    public async Task Command_DuplicateRecords_OneRequestOneResult()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-8", "c-1", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("agent-8", "get-process", "{\"pid\":42}");
        await bed.SendAsync(command);
        await bed.SendAsync(command);
        var (request, _) = await bed.WaitForRequestAsync(command.CommandId);
        await bed.RespondAsync(request, json: "{\"pid\":42,\"name\":\"python\"}");
        Assert.Equal(CommandStatus.Ok, (await bed.WaitForResultAsync(command.CommandId)).Status);

        // And once more after it completed.
        await bed.SendAsync(command);
        var marker = TestBed.Command("agent-8", "get-server-info");
        await bed.SendAsync(marker);
        await bed.WaitForRequestAsync(marker.CommandId);

        Assert.Equal(1, bed.RequestCount(command.CommandId));
        Assert.Equal(1, bed.ResultCount(command.CommandId));
    }

    [Fact]
    public async Task Dispatcher_StoppedWithCommandInFlight_NextOwnerResendsSameIdAndAnswersOnce()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-9", "c-1", 1_000);
        var first = await bed.StartDispatcherAsync("d1");
        var done = TestBed.Command("agent-9", "get-services");
        await bed.SendAsync(done);
        var (doneRequest, _) = await bed.WaitForRequestAsync(done.CommandId);
        await bed.RespondAsync(doneRequest, json: "[]");
        await bed.WaitForResultAsync(done.CommandId);
        var pending = TestBed.Command("agent-9", "get-process", "{\"pid\":\"7\"}");
        await bed.SendAsync(pending);
        var (before, _) = await bed.WaitForRequestAsync(pending.CommandId);

        await bed.StopDispatcherAsync(first);
        await bed.StartDispatcherAsync("d2");

        var (after, _) = await bed.WaitForRequestAsync(pending.CommandId, count: 2, timeoutSeconds: 30);
        Assert.Equal(before.RequestId, after.RequestId);
        await bed.RespondAsync(after, json: "{\"pid\":7}");
        Assert.Equal(CommandStatus.Ok, (await bed.WaitForResultAsync(pending.CommandId)).Status);
        await Task.Delay(500);
        Assert.Equal(1, bed.ResultCount(pending.CommandId));
        Assert.Equal(1, bed.ResultCount(done.CommandId));
        Assert.Equal(1, bed.RequestCount(done.CommandId));
    }

    [Fact]
    public async Task Dispatcher_KilledAfterResultBeforeCommit_RedeliveredCommandNotAnsweredTwice()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("agent-10", "c-1", 1_000);
        var first = await bed.StartDispatcherAsync("d1", new Dictionary<string, string?> { ["Dispatcher:CommitInterval"] = "00:05:00" });
        var command = TestBed.Command("agent-10", "get-server-info");
        await bed.SendAsync(command);
        var (request, _) = await bed.WaitForRequestAsync(command.CommandId);
        await bed.RespondAsync(request);
        await bed.WaitForResultAsync(command.CommandId);

        // Killed before the auto-commit: the next owner reads the command again but finds its result in the results tail.
        await bed.StopDispatcherAsync(first, kill: true);
        await bed.StartDispatcherAsync("d2");
        var marker = TestBed.Command("agent-10", "get-server-info");
        await bed.SendAsync(marker);
        await bed.WaitForRequestAsync(marker.CommandId, timeoutSeconds: 30);

        Assert.Equal(1, bed.ResultCount(command.CommandId));
        Assert.Equal(1, bed.RequestCount(command.CommandId));
    }

    [Fact]
    public async Task TwoDispatchers_CommandsOnEveryPartition_EachAnsweredOnce()
    {
        await using var bed = await TestBed.StartAsync(fx);
        var agents = Enumerable.Range(0, 8).Select(i => $"agent-m{i}").ToList();
        foreach (var a in agents) bed.Connected(a, "c-1", 1_000);
        await bed.StartDispatcherAsync("d1");
        await bed.StartDispatcherAsync("d2");
        var commands = agents.Select(a => TestBed.Command(a, "get-server-info")).ToList();
        foreach (var c in commands) await bed.SendAsync(c);

        foreach (var c in commands)
        {
            var (request, _) = await bed.WaitForRequestAsync(c.CommandId, timeoutSeconds: 30);
            await bed.RespondAsync(request);
        }

        foreach (var c in commands) Assert.Equal(CommandStatus.Ok, (await bed.WaitForResultAsync(c.CommandId)).Status);
        await Task.Delay(300);
        Assert.All(commands, c => Assert.Equal(1, bed.ResultCount(c.CommandId)));
    }
}
