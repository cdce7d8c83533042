using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using StreamPipeline.Embedded.ClickHouse.Engine;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// Checks the one configured user on every request, accepting each way ClickHouse does: HTTP basic auth,
/// <c>X-ClickHouse-User</c>/<c>X-ClickHouse-Key</c> headers, or <c>user</c>/<c>password</c> URL parameters.
/// </summary>
internal sealed class Credentials(string user, string password)
{
    private readonly byte[] user = Encoding.UTF8.GetBytes(user);
    private readonly byte[] password = Encoding.UTF8.GetBytes(password);

    public ChDbError? Check(HttpRequest request, RequestParameters parameters)
    {
        string? givenUser = null;
        string? givenPassword = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            if (!authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            {
                return Failed("(unknown)", "only HTTP basic authentication is supported here, not " + authorization.Split(' ')[0]);
            }

            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
            }
            catch (FormatException)
            {
                return Failed("(unknown)", "the basic authorization header is not valid base64");
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            givenUser = colon < 0 ? decoded : decoded[..colon];
            givenPassword = colon < 0 ? string.Empty : decoded[(colon + 1)..];
        }
        else if (request.Headers.TryGetValue("X-ClickHouse-User", out var headerUser) | request.Headers.TryGetValue("X-ClickHouse-Key", out var headerKey))
        {
            givenUser = headerUser.Count > 0 ? headerUser.ToString() : null;
            givenPassword = headerKey.Count > 0 ? headerKey.ToString() : null;
        }
        else
        {
            givenUser = parameters.User;
            givenPassword = parameters.Password;
        }

        givenUser = string.IsNullOrEmpty(givenUser) ? "default" : givenUser;
        givenPassword ??= string.Empty;
        var userMatches = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(givenUser), user);
        var passwordMatches = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(givenPassword), password);
        return userMatches && passwordMatches ? null : Failed(givenUser, null);
    }

    private static ChDbError Failed(string givenUser, string? detail) => ErrorCodes.Create(
        ErrorCodes.AuthenticationFailed,
        $"{givenUser}: Authentication failed: " + (detail ?? "password is incorrect, or there is no user with such name"));
}
