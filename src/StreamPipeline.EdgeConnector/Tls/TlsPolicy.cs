using System.Net.Security;
using System.Security.Authentication;

namespace StreamPipeline.EdgeConnector.Tls;

/// <summary>
/// The agents' transport policy: TLS 1.2 or 1.3 only; on 1.2 ECDHE key exchange with AES-GCM only;
/// on 1.3 the AES-GCM suites (no ChaCha20).
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

    private static readonly CipherSuitesPolicy Policy = new(CipherSuites);

    public static void Apply(SslServerAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        options.CipherSuitesPolicy = Policy;
    }
}
