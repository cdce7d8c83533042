using StreamPipeline.Dispatcher.Routing;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Tests.Routing;

public sealed class PresenceTableTests
{
    private static AgentPresence P(string connector, long epoch, PresenceStatus status, string? session = null) => new()
    {
        AgentId = "a", ConnectorId = connector, SessionId = session ?? $"{connector}-{epoch}", Epoch = epoch, Status = status,
    };

    [Fact]
    public void Apply_Connected_Owner()
    {
        var t = new PresenceTable();
        Assert.True(t.Apply(P("c1", 10, PresenceStatus.Connected)));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal(new AgentOwner("c1", "c1-10", 10), o);
        Assert.False(t.TryGetOwner("b", out _));
    }

    [Fact]
    public void Apply_DisconnectedOfOwnerSession_Offline()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected));
        Assert.True(t.Apply(P("c1", 10, PresenceStatus.Disconnected)));
        Assert.False(t.TryGetOwner("a", out _));
    }

    [Fact]
    public void Apply_NewerSessionElsewhereThenOldSessionEnds_NewOwnerStays()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected));
        Assert.True(t.Apply(P("c2", 20, PresenceStatus.Connected)));
        Assert.False(t.Apply(P("c1", 10, PresenceStatus.Disconnected)));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
    }

    [Fact]
    public void Apply_OlderConnectedAfterNewer_Ignored()
    {
        var t = new PresenceTable();
        t.Apply(P("c2", 20, PresenceStatus.Connected));
        Assert.False(t.Apply(P("c1", 10, PresenceStatus.Connected)));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
    }

    [Fact]
    public void Apply_NewestSessionEnded_OfflineEvenIfOlderNeverSaidGoodbye()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected));
        t.Apply(P("c2", 20, PresenceStatus.Connected));
        Assert.True(t.Apply(P("c2", 20, PresenceStatus.Disconnected)));
        Assert.False(t.TryGetOwner("a", out _));
    }
}
