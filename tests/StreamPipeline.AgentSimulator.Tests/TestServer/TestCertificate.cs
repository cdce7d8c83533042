using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StreamPipeline.AgentSimulator.Tests.TestServer;

/// <summary>A self-signed ECDSA P-256 server certificate for 127.0.0.1/localhost, and its PEM on disk.</summary>
internal sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string pemPath)
    {
        Certificate = certificate;
        PemPath = pemPath;
    }

    public X509Certificate2 Certificate { get; }

    public string PemPath { get; }

    public static TestCertificate Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=agent-simulator-test-connector", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        // Round-trip through PKCS#12 so the private key is usable by the TLS stack.
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        var pemPath = Path.Combine(Path.GetTempPath(), $"agent-sim-test-{Guid.NewGuid():N}.pem");
        File.WriteAllText(pemPath, created.ExportCertificatePem());
        return new TestCertificate(certificate, pemPath);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        File.Delete(PemPath);
    }
}
