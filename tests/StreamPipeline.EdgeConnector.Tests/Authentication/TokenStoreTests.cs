using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.EdgeConnector.Authentication;

namespace StreamPipeline.EdgeConnector.Tests.Authentication;

public sealed class TokenStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tokens-").FullName;
    private string Path => System.IO.Path.Combine(_dir, "tokens.txt");

    [Fact]
    public void ReloadIfChanged_TokenRevoked_ChangedRaisedWithRevokedAndANewGeneration()
    {
        TokenStore.AppendLines(Path, [TokenStore.HashLine("a", "ta"), TokenStore.HashLine("b", "tb")]);
        using var store = new TokenStore(Path, NullLogger<TokenStore>.Instance, watch: false);
        Assert.Equal(TokenCheck.Valid, store.Check("a", "ta", out var before));
        var raised = new List<CredentialChangeSet>();
        store.Changed += raised.Add;

        Assert.True(TokenStore.Revoke(Path, "a"));
        TouchLater();
        Assert.True(store.ReloadIfChanged());

        var set = Assert.Single(raised);
        Assert.Equal(new CredentialChange("a", CredentialChangeKind.Revoked), Assert.Single(set.Changes));
        Assert.True(set.Generation > before);
        Assert.Equal(TokenCheck.Revoked, store.Check("a", "ta", out var after));
        Assert.Equal(set.Generation, after);
    }

    [Fact]
    public void ReloadIfChanged_TokenReissuedAndAgentRemoved_ReplacedAndRemoved()
    {
        TokenStore.AppendLines(Path, [TokenStore.HashLine("a", "ta"), TokenStore.HashLine("b", "tb")]);
        using var store = new TokenStore(Path, NullLogger<TokenStore>.Instance, watch: false);
        var raised = new List<CredentialChangeSet>();
        store.Changed += raised.Add;

        File.WriteAllLines(Path, [TokenStore.HashLine("a", "new-token")]);
        TouchLater();
        store.ReloadIfChanged();

        var changes = Assert.Single(raised).Changes.OrderBy(c => c.AgentId).ToList();
        Assert.Equal([new CredentialChange("a", CredentialChangeKind.Replaced), new CredentialChange("b", CredentialChangeKind.Removed)], changes);
        Assert.Equal(TokenCheck.WrongToken, store.Check("a", "ta"));
        Assert.Equal(TokenCheck.Valid, store.Check("a", "new-token"));
    }

    [Fact]
    public void ReloadIfChanged_AgentAdded_NoChangeRaisedSameGeneration()
    {
        TokenStore.AppendLines(Path, [TokenStore.HashLine("a", "ta")]);
        using var store = new TokenStore(Path, NullLogger<TokenStore>.Instance, watch: false);
        var generation = store.Generation;
        var raised = 0;
        store.Changed += _ => raised++;

        TokenStore.AppendLines(Path, [TokenStore.HashLine("b", "tb")]);
        TouchLater();
        Assert.True(store.ReloadIfChanged());

        Assert.Equal(0, raised);
        Assert.Equal(generation, store.Generation);
        Assert.True(store.Knows("b"));
    }

    // The store notices a change by write time and length; make the write time differ even on coarse file systems.
    private void TouchLater() => File.SetLastWriteTimeUtc(Path, DateTime.UtcNow.AddSeconds(5));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
