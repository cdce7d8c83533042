using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>
/// The TLS policy checked with a client we did not write (openssl s_client): TLS 1.2 and 1.3 only, ECDHE with
/// AES-GCM only on 1.2, AES-GCM only on 1.3. The client is told to allow everything (SECLEVEL=0) so a refusal is the server's.
/// </summary>
public sealed class TlsPolicyTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    [Theory]
    [InlineData("-tls1", "-cipher", "DEFAULT:@SECLEVEL=0", false)]
    [InlineData("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", false)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", false)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0", false)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", false)]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", false)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", true)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384", true)]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", true)]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", true)]
    [InlineData("-tls1_3", "-groups", "ffdhe2048", false)]
    [InlineData("-tls1_3", "-groups", "ffdhe3072:ffdhe4096", false)]
    [InlineData("-tls1_2", "-groups", "ffdhe2048", false)]
    [InlineData("-tls1_3", "-groups", "X25519", true)]
    [InlineData("-tls1_3", "-groups", "P-256", true)]
    [InlineData("-tls1_3", "-groups", "P-384", true)]
    [InlineData("-tls1_2", "-groups", "X25519:P-256", true)] // on 1.2 the client's groups must also name the certificate's curve
    public async Task Handshake_OpenSslClient_OnlyPolicySuitesAccepted(string version, string suiteFlag, string suites, bool accepted)
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var (ok, text) = await OpenSslAsync(connector.AgentPort, version, suiteFlag, suites);
        output.WriteLine(text);
        Assert.Equal(accepted, ok);
    }

    [Theory]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256", true)]
    [InlineData("ECDHE-RSA-AES256-GCM-SHA384", true)]
    [InlineData("AES128-GCM-SHA256", false)]
    [InlineData("DHE-RSA-AES128-GCM-SHA256", false)]
    [InlineData("ECDHE-RSA-AES128-SHA256", false)]
    public async Task Handshake_RsaCertificate_EcdheRsaGcmOnly(string cipher, bool accepted)
    {
        var dir = Directory.CreateTempSubdirectory("rsa-").FullName;
        var cert = Path.Combine(dir, "rsa.crt");
        var key = Path.Combine(dir, "rsa.key");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(cert, self.ExportCertificatePem());
            File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        }

        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, settings: new Dictionary<string, string?>
        {
            ["EdgeConnector:CertificatePath"] = cert,
            ["EdgeConnector:CertificateKeyPath"] = key,
            ["EdgeConnector:GenerateDevelopmentCertificate"] = "false",
        });
        var (ok, text) = await OpenSslAsync(connector.AgentPort, "-tls1_2", "-cipher", cipher + ":@SECLEVEL=0");
        output.WriteLine(text);
        Assert.Equal(accepted, ok);
    }

    [Fact]
    public async Task Certificate_FilesReplaced_NewCertificateServedWithoutRestart()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var before = await ServedThumbprintAsync(connector.AgentPort);
        File.Delete(connector.CertificatePath);
        File.Delete(connector.KeyPath);
        Tls.DevelopmentCertificate.EnsureExists(connector.CertificatePath, connector.KeyPath);
        var expected = X509CertificateLoader.LoadCertificateFromFile(connector.CertificatePath).GetCertHashString();

        await StreamPipeline.Testing.Eventually.ReturnsAsync(() => ServedThumbprintAsync(connector.AgentPort), t => t == expected,
            TimeSpan.FromSeconds(20), "the renewed certificate to be served");
        Assert.NotEqual(before, expected);
    }

    [Fact]
    public async Task Handshake_SecondConnectionWithSavedSession_Resumed()
    {
        // Resumption works only when connections share one OpenSSL context: a CipherSuitesPolicy or a certificate
        // selector made .NET build one per connection (issue 12), which this would catch.
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var session = Path.Combine(connector.Dir, "tls.session");

        var (first, text1) = await OpenSslAsync(connector.AgentPort, "-tls1_2", "-sess_out", session);
        var (second, text2) = await OpenSslAsync(connector.AgentPort, "-tls1_2", "-sess_in", session);
        output.WriteLine(text2);

        Assert.True(first, text1);
        Assert.True(second, text2);
        Assert.Contains("Reused, TLSv1.2", text2, StringComparison.Ordinal);
    }

    private static async Task<string> ServedThumbprintAsync(int port)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        string? thumbprint = null;
        await using var ssl = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, c, _, _) => { thumbprint = c?.GetCertHashString(); return thumbprint is not null; });
        await ssl.AuthenticateAsClientAsync("localhost");
        return thumbprint!;
    }

    private static async Task<(bool Ok, string Output)> OpenSslAsync(int port, string version, string suiteFlag, string suites)
    {
        var psi = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "s_client", "-connect", $"127.0.0.1:{port}", version, suiteFlag, suites, "-servername", "localhost" }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(cts.Token);
        var text = await stdout + await stderr;
        // A completed handshake prints the negotiated cipher; a refused one prints "Cipher is (NONE)" or an alert.
        var ok = process.ExitCode == 0 && text.Contains("Cipher is ", StringComparison.Ordinal) && !text.Contains("Cipher is (NONE)", StringComparison.Ordinal);
        return (ok, $"openssl {version} {suiteFlag} {suites}: exit {process.ExitCode}\n{text}");
    }
}
