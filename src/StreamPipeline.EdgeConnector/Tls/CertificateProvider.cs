using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.EdgeConnector.Tls;

/// <summary>
/// Holds the server certificate loaded from PEM files and reloads it when either file changes, so a renewed
/// certificate is served to new connections without a restart. A broken new file keeps the old certificate.
/// </summary>
internal sealed partial class CertificateProvider : IDisposable
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private (DateTime Cert, DateTime Key) _stamp;
    private X509Certificate2 _current;
    private SslStreamCertificateContext _context;

    public CertificateProvider(string certPath, string keyPath, ILogger<CertificateProvider> logger)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _logger = logger;
        _stamp = Stamp();
        _current = Load(certPath, keyPath);
        _context = SslStreamCertificateContext.Create(_current, additionalCertificates: null, offline: true);
        LogLoaded(_logger, _certPath, _current.Subject, _current.NotAfter);
        _timer = new Timer(_ => ReloadIfChanged(), null, CheckInterval, CheckInterval);
    }

    public X509Certificate2 Current => Volatile.Read(ref _current);

    /// <summary>
    /// The certificate with its chain, built once per load: handing SslStream this (rather than a certificate from a
    /// selector callback, whose chain is rebuilt at every handshake) also lets .NET keep one OpenSSL context for all
    /// connections, with TLS session resumption.
    /// </summary>
    public SslStreamCertificateContext CurrentContext => Volatile.Read(ref _context);

    /// <summary>Loads now if the files changed since the last load; returns true when a new certificate is in use.</summary>
    public bool ReloadIfChanged()
    {
        var stamp = Stamp();
        if (stamp == _stamp) return false;
        try
        {
            var fresh = Load(_certPath, _keyPath);
            Volatile.Write(ref _context, SslStreamCertificateContext.Create(fresh, additionalCertificates: null, offline: true));
            Volatile.Write(ref _current, fresh);
            _stamp = stamp;
            LogLoaded(_logger, _certPath, fresh.Subject, fresh.NotAfter);
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            LogReloadFailed(_logger, _certPath, e.Message);
            return false;
        }
    }

    public static X509Certificate2 Load(string certPath, string keyPath)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // Re-import so the private key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException(
                $"Cannot load the TLS certificate from EdgeConnector:CertificatePath '{certPath}' and EdgeConnector:CertificateKeyPath '{keyPath}': {e.Message} " +
                "Both must be PEM files (certificate chain, and its unencrypted private key).", e);
        }
    }

    private (DateTime, DateTime) Stamp() => (File.GetLastWriteTimeUtc(_certPath), File.GetLastWriteTimeUtc(_keyPath));

    public void Dispose() => _timer.Dispose();

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "TLS certificate loaded from {Path}: {Subject}, valid until {NotAfter:u}")]
    private static partial void LogLoaded(ILogger logger, string path, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "TLS certificate at {Path} changed but cannot be loaded; still serving the previous one: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);
}
