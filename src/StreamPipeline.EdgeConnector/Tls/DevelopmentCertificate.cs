using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StreamPipeline.EdgeConnector.Tls;

/// <summary>A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, for local runs and tests.</summary>
public static class DevelopmentCertificate
{
    /// <summary>Writes a new certificate and key as PEM files unless both exist already.</summary>
    public static void EnsureExists(string certPath, string keyPath)
    {
        if (File.Exists(certPath) && File.Exists(keyPath)) return;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = Create(key);
        foreach (var dir in new[] { Path.GetDirectoryName(Path.GetFullPath(certPath)), Path.GetDirectoryName(Path.GetFullPath(keyPath)) })
        {
            if (dir is not null) Directory.CreateDirectory(dir);
        }

        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static X509Certificate2 Create(ECDsa key, string commonName = "localhost")
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
    }
}
