using System.Net.Security;
using System.Security.Authentication;

namespace StreamPipeline.EdgeConnector.Tls;

/// <summary>
/// The agents' transport policy: TLS 1.2 or 1.3 only; on 1.2 ECDHE key exchange with AES-GCM only; on 1.3 the
/// AES-GCM suites (no ChaCha20); key exchange over X25519, P-256 or P-384 only. The suites and groups are enforced by
/// <see cref="OpenSslPolicy"/> (an OpenSSL configuration), not by a <see cref="CipherSuitesPolicy"/>: .NET has no API
/// for groups, and a CipherSuitesPolicy makes .NET create one OpenSSL context per connection, without resumption
/// (docs/decisions.md). <see cref="CipherSuites"/> lists the same suites for reference and tests.
/// </summary>
internal static class TlsPolicy
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    public static readonly TlsCipherSuite[] CipherSuites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ];

    /// <summary>The server options of one handshake: protocols here, suites and groups from the process's OpenSSL policy.</summary>
    public static SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext certificate)
    {
        OpenSslPolicy.EnsureLoaded();
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate,
            EnabledSslProtocols = Protocols,
            ClientCertificateRequired = false,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        };
    }
}
