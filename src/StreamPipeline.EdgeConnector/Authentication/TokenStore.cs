using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using StreamPipeline.Kafka.Credentials;

namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>The outcome of checking an agent's credentials.</summary>
internal enum TokenCheck { Valid, UnknownAgent, WrongToken, Revoked }

/// <summary>
/// Agent tokens, kept only as SHA-256 hashes (tokens are 256-bit random values, so a fast hash is enough),
/// compared in constant time. The file is one line per agent: <c>agent_id sha256:HEX</c>, optionally
/// followed by <c>revoked</c>; <c>#</c> starts a comment. It is reloaded when it changes, so issuing and
/// revoking tokens needs no restart; a reload that revokes, replaces or removes an agent's token raises
/// <see cref="Changed"/>, so that agent's live session is closed too.
/// </summary>
internal sealed partial class TokenStore : ICredentialStore, ICredentialChangeFeed, IDisposable
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Timer? _timer;
    private readonly Lock _reloadLock = new();
    private (DateTime, long) _stamp;
    private Snapshot _snapshot;

    public TokenStore(string path, ILogger<TokenStore> logger, bool watch = true)
    {
        _path = path;
        _logger = logger;
        _stamp = Stamp(path);
        _snapshot = new Snapshot(Load(path), 1);
        LogLoaded(_logger, _path, _snapshot.Entries.Count);
        if (watch) _timer = new Timer(_ => ReloadIfChanged(), null, CheckInterval, CheckInterval);
    }

    /// <inheritdoc />
    public event Action<CredentialChangeSet>? Changed;

    public int Count => Volatile.Read(ref _snapshot).Entries.Count;

    /// <summary>The store's version: 1 at start, one more at each reload that changed anything.</summary>
    public long Generation => Volatile.Read(ref _snapshot).Generation;

    /// <inheritdoc />
    public bool IsReady => true;

    /// <inheritdoc />
    public string NotReadyReason => "";

    public TokenCheck Check(string agentId, string token) => Check(agentId, token, out _);

    /// <summary>Checks a credential; <paramref name="generation"/> is the store version that answered (see <see cref="CredentialChangeSet"/>).</summary>
    public TokenCheck Check(string agentId, string token, out long generation)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        generation = snapshot.Generation;
        if (!snapshot.Entries.TryGetValue(agentId, out var entry)) return TokenCheck.UnknownAgent;
        Span<byte> hash = stackalloc byte[32];
        HashToken(token, hash);
        if (!CryptographicOperations.FixedTimeEquals(hash, entry.Hash)) return TokenCheck.WrongToken;
        return entry.Revoked ? TokenCheck.Revoked : TokenCheck.Valid;
    }

    /// <summary>True when the store has a line for this agent (revoked or not).</summary>
    public bool Knows(string agentId) => Volatile.Read(ref _snapshot).Entries.ContainsKey(agentId);

    public bool ReloadIfChanged()
    {
        CredentialChangeSet? changed;
        lock (_reloadLock)
        {
            var stamp = Stamp(_path);
            if (stamp == _stamp) return false;
            try
            {
                var entries = Load(_path);
                var old = _snapshot;
                var changes = Diff(old.Entries, entries);
                var fresh = new Snapshot(entries, changes.Count > 0 ? old.Generation + 1 : old.Generation);
                Volatile.Write(ref _snapshot, fresh);
                _stamp = stamp;
                LogLoaded(_logger, _path, entries.Count);
                changed = changes.Count > 0 ? new CredentialChangeSet(fresh.Generation, changes) : null;
            }
            catch (Exception e) when (e is IOException or FormatException)
            {
                LogReloadFailed(_logger, _path, e.Message);
                return false;
            }
        }

        if (changed is not null)
        {
            LogCredentialsChanged(_logger, _path, changed.Changes.Count, changed.Generation);
            Changed?.Invoke(changed);
        }

        return true;
    }

    private static List<CredentialChange> Diff(FrozenDictionary<string, Entry> old, FrozenDictionary<string, Entry> fresh)
    {
        var changes = new List<CredentialChange>();
        foreach (var (agentId, before) in old)
        {
            if (before.Revoked) continue; // a revoked token authenticates nobody: nothing live to close
            if (!fresh.TryGetValue(agentId, out var after)) changes.Add(new CredentialChange(agentId, CredentialChangeKind.Removed));
            else if (after.Revoked) changes.Add(new CredentialChange(agentId, CredentialChangeKind.Revoked));
            else if (!CryptographicOperations.FixedTimeEquals(before.Hash, after.Hash)) changes.Add(new CredentialChange(agentId, CredentialChangeKind.Replaced));
        }

        return changes;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>A new random token for an agent: 32 random bytes, base64url.</summary>
    public static string NewToken() => AgentTokens.NewToken();

    /// <summary>The hash scheme of every store (<see cref="AgentTokens"/>): SHA-256 of the token's UTF-8 bytes.</summary>
    public static void HashToken(string token, Span<byte> destination) => AgentTokens.Hash(token, destination);

    public static string HashLine(string agentId, string token, bool revoked = false) =>
        $"{agentId} {AgentTokens.HashText(token)}{(revoked ? " revoked" : "")}";

    /// <summary>Adds or replaces an agent's line; returns the new token, which is not stored anywhere.</summary>
    public static string Issue(string path, string agentId)
    {
        ValidateAgentId(agentId);
        var token = NewToken();
        Rewrite(path, agentId, HashLine(agentId, token));
        return token;
    }

    /// <summary>Marks an agent's token revoked; returns false when the agent has no token.</summary>
    public static bool Revoke(string path, string agentId)
    {
        var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        var found = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == agentId)
            {
                lines[i] = $"{parts[0]} {parts[1]} revoked";
                found = true;
            }
        }

        if (found) WriteAtomically(path, lines);
        return found;
    }

    /// <summary>Appends many lines at once (provisioning a simulated fleet).</summary>
    public static void AppendLines(string path, IEnumerable<string> lines)
    {
        var existing = File.Exists(path) ? File.ReadAllLines(path) : [];
        WriteAtomically(path, existing.Concat(lines).ToArray());
    }

    private static void Rewrite(string path, string agentId, string line)
    {
        var lines = (File.Exists(path) ? File.ReadAllLines(path) : [])
            .Where(l => !l.StartsWith(agentId + " ", StringComparison.Ordinal))
            .Append(line)
            .ToArray();
        WriteAtomically(path, lines);
    }

    private static void WriteAtomically(string path, string[] lines)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp";
        File.WriteAllLines(tmp, lines);
        File.Move(tmp, full, overwrite: true);
    }

    public static void ValidateAgentId(string agentId)
    {
        if (string.IsNullOrWhiteSpace(agentId) || agentId.Length > 128 || agentId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"Agent id '{agentId}' is invalid: use 1 to 128 characters without spaces or control characters.", nameof(agentId));
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    private static FrozenDictionary<string, Entry> Load(string path)
    {
        if (!File.Exists(path)) return FrozenDictionary<string, Entry>.Empty;
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !parts[1].StartsWith("sha256:", StringComparison.Ordinal) || parts[1].Length != 7 + 64)
                throw new FormatException($"{path}:{lineNumber}: expected 'agent_id sha256:<64 hex digits> [revoked]'.");
            var hash = Convert.FromHexString(parts[1].AsSpan(7));
            entries[parts[0]] = new Entry(hash, parts.Length > 2 && parts[2] == "revoked");
        }

        return entries.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Entry(byte[] Hash, bool Revoked);

    private sealed record Snapshot(FrozenDictionary<string, Entry> Entries, long Generation);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Token store {Path} loaded: {Count} agents")]
    private static partial void LogLoaded(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Token store {Path}: {Count} agents' tokens revoked, replaced or removed (generation {Generation}); their live sessions are closed")]
    private static partial void LogCredentialsChanged(ILogger logger, string path, int count, long generation);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Token store {Path} changed but cannot be read; keeping the previous tokens: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);
}
