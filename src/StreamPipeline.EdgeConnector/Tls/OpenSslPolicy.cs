using System.Runtime.InteropServices;

namespace StreamPipeline.EdgeConnector.Tls;

/// <summary>
/// The agents' TLS policy as an OpenSSL configuration (<c>system_default</c>: protocols, TLS 1.2 cipher string,
/// TLS 1.3 cipher suites and key-exchange groups), loaded into the process's OpenSSL, the library .NET's SslStream
/// uses on Linux. .NET has no API for groups; without this, OpenSSL 3 also offers finite-field DH groups
/// (ffdhe2048...) in TLS 1.3. OpenSSL applies <c>system_default</c> to every SSL_CTX created after the load, so it is
/// loaded before the listener starts. See docs/decisions.md (issue 9: how the TLS policy is applied).
/// </summary>
internal static class OpenSslPolicy
{
    public const string Groups = "X25519:P-256:P-384";
    public const string CipherString = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384";
    public const string Ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

    private static readonly Lock Gate = new();
    private static bool _loaded;

    /// <summary>The configuration text; also what an operator puts in OPENSSL_CONF for a TLS terminator in front.</summary>
    public static string Configuration =>
        $"""
        openssl_conf = streampipeline_init

        [streampipeline_init]
        ssl_conf = streampipeline_ssl

        [streampipeline_ssl]
        system_default = streampipeline_tls

        [streampipeline_tls]
        MinProtocol = TLSv1.2
        CipherString = {CipherString}
        Ciphersuites = {Ciphersuites}
        Groups = {Groups}

        """;

    /// <summary>Loads the policy once per process; throws with what to do when OpenSSL refuses it.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            var path = Path.Combine(Path.GetTempPath(), $"streampipeline-tls-{Environment.ProcessId}.cnf");
            File.WriteAllText(path, Configuration);
            try
            {
                if (CONF_modules_load_file(path, null, 0) <= 0)
                    throw new InvalidOperationException($"OpenSSL refused the TLS policy configuration ({path}); the connector needs OpenSSL 3 (libcrypto.so.3).");
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                throw new InvalidOperationException("Cannot load libcrypto.so.3 to apply the TLS policy (key-exchange groups): install OpenSSL 3 (Debian: libssl3).", e);
            }
            finally
            {
                File.Delete(path);
            }

            _loaded = true;
        }
    }

    // DllImport rather than LibraryImport: one call at start, and the project stays free of unsafe code.
    [DllImport("libcrypto.so.3", ExactSpelling = true)]
    private static extern int CONF_modules_load_file([MarshalAs(UnmanagedType.LPUTF8Str)] string filename, [MarshalAs(UnmanagedType.LPUTF8Str)] string? appname, nuint flags);
}
