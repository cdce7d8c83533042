using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.Tests.Decoding;

public sealed class RecordKindTests
{
    [Fact]
    public void Kinds_TablesNamesAndSchemas_AsTheContractsSay()
    {
        Assert.Equal(new[] { "metrics_samples", "metrics_disks", "metrics_interfaces" }, RecordKind.Metrics.Tables.Select(t => t.Name));
        Assert.Equal(new[] { "agent_presence" }, RecordKind.Presence.Tables.Select(t => t.Name));
        Assert.Equal(new[] { "command_log" }, RecordKind.CommandResult.Tables.Select(t => t.Name));
        Assert.Equal(new[] { "dead_letters" }, RecordKind.ConnectorDeadLetter.Tables.Select(t => t.Name));
        Assert.Equal(new[] { "credential_audit" }, RecordKind.CredentialAudit.Tables.Select(t => t.Name));
        // The names are part of dead_letter_replays tokens: they must not change.
        Assert.Equal(new[] { "Metrics", "Presence", "CommandResult", "ConnectorDeadLetter", "CredentialAudit" },
            new[] { RecordKind.Metrics, RecordKind.Presence, RecordKind.CommandResult, RecordKind.ConnectorDeadLetter, RecordKind.CredentialAudit }.Select(k => k.ToString()));
        Assert.Null(RecordKind.ConnectorDeadLetter.ReaderSchema);
        Assert.Null(RecordKind.CredentialAudit.ReaderSchema);
        Assert.True(RecordKind.CredentialAudit.IsJson);
        Assert.True(RecordKind.CredentialAudit.KeyedByAgent);
        Assert.False(RecordKind.Metrics.IsJson);
        Assert.Null(RecordKind.CommandResult.IdentityLayout);
    }

    [Fact]
    public void ReaderSchemas_AreTheProtocolFiles_EmbeddedInProtocolOnly()
    {
        // One home per wire contract (issue 10): the sink and the command contracts read the files Protocol embeds.
        Assert.Equal(SchemaCatalog.Canonical(AvroSchemas.MetricsSample.Json), RecordKind.Metrics.IdentityLayout);
        Assert.Equal(SchemaCatalog.Canonical(AvroSchemas.AgentPresence.Json), RecordKind.Presence.IdentityLayout);
        Assert.Equal(AvroSchemas.CommandResult.FullName, ContractCodec.CommandResultSchema.Fullname);
        Assert.DoesNotContain(typeof(ContractCodec).Assembly.GetManifestResourceNames(), n => n.EndsWith(".avsc", StringComparison.Ordinal));
        Assert.DoesNotContain(typeof(RecordKind).Assembly.GetManifestResourceNames(), n => n.EndsWith(".avsc", StringComparison.Ordinal));
    }
}
