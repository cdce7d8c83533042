using System.Security.Cryptography;
using System.Text;

namespace StreamPipeline.Kafka.Credentials;

/// <summary>
/// The one token scheme of every credential store (the file store and the <c>agent-credentials</c> topic): a token is
/// 32 random bytes in base64url, and only its SHA-256 is kept, written <c>sha256:HEX</c> (tokens are 256-bit random
/// values, so a fast hash is enough). Tokens are compared by their hashes in constant time.
/// </summary>
public static class AgentTokens
{
    /// <summary>The prefix of a stored hash.</summary>
    public const string HashPrefix = "sha256:";

    /// <summary>Length of a stored hash: the prefix and 64 hex digits.</summary>
    public const int HashTextLength = 7 + 64;

    /// <summary>Longest agent id, in characters.</summary>
    public const int MaxAgentIdLength = 128;

    /// <summary>A new random token for an agent: 32 random bytes, base64url (43 characters).</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>SHA-256 of the token's UTF-8 bytes into <paramref name="destination"/> (32 bytes).</summary>
    public static void Hash(string token, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(token);
        var max = Encoding.UTF8.GetMaxByteCount(token.Length);
        var buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(token, buffer);
        SHA256.HashData(buffer[..n], destination);
    }

    /// <summary>The stored form of a token's hash: <c>sha256:HEX</c>.</summary>
    public static string HashText(string token)
    {
        Span<byte> hash = stackalloc byte[32];
        Hash(token, hash);
        return HashPrefix + Convert.ToHexStringLower(hash);
    }

    /// <summary>Parses <c>sha256:HEX</c>; false when it is not that form.</summary>
    public static bool TryParseHash(string? text, out byte[] hash)
    {
        hash = [];
        if (text is null || text.Length != HashTextLength || !text.StartsWith(HashPrefix, StringComparison.Ordinal)) return false;
        try
        {
            hash = Convert.FromHexString(text.AsSpan(HashPrefix.Length));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="token"/> hashes to <paramref name="hash"/> (constant time).</summary>
    public static bool Matches(string token, ReadOnlySpan<byte> hash)
    {
        Span<byte> computed = stackalloc byte[32];
        Hash(token, computed);
        return CryptographicOperations.FixedTimeEquals(computed, hash);
    }

    /// <summary>Why an agent id cannot be given a token, or null when it can: 1 to 128 characters, no spaces or control characters.</summary>
    public static string? AgentIdProblem(string? agentId) =>
        string.IsNullOrWhiteSpace(agentId) || agentId.Length > MaxAgentIdLength || agentId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ',')
            ? $"Agent id '{agentId}' is invalid: use 1 to {MaxAgentIdLength} characters without spaces, commas or control characters."
            : null;
}
