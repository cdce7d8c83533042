using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace StreamPipeline.AgentSimulator.Transport;

/// <summary>
/// Opens agent WebSockets: one <see cref="SocketsHttpHandler"/> per local source address (so the kernel's
/// ephemeral-port range applies per address), TLS 1.2/1.3 with the configured trust, tiny buffers.
/// </summary>
internal sealed class WebSocketConnector : IDisposable
{
    // Linux IP_BIND_ADDRESS_NO_PORT: bind(ip:0) then defers the port choice to connect(), so a port is
    // reserved per (source, destination) and not per source alone.
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private readonly HttpMessageInvoker[] _invokers;
    private readonly IReadOnlyList<IPAddress> _localAddresses;
    private readonly SimulatorOptions _options;
    private readonly X509Certificate2Collection? _trusted;

    public WebSocketConnector(SimulatorOptions options)
    {
        _options = options;
        _localAddresses = options.ParsedLocalAddresses();
        _trusted = LoadTrusted(options.TrustedCertificatePath);
        if (_localAddresses.Count == 0)
        {
            _invokers = [new HttpMessageInvoker(CreateHandler(null), disposeHandler: true)];
        }
        else
        {
            _invokers = new HttpMessageInvoker[_localAddresses.Count];
            for (var i = 0; i < _invokers.Length; i++)
            {
                _invokers[i] = new HttpMessageInvoker(CreateHandler(_localAddresses[i]), disposeHandler: true);
            }
        }
    }

    /// <summary>The local address agent <paramref name="index"/> connects from, or null when the OS picks.</summary>
    public IPAddress? LocalAddressFor(int index) => _localAddresses.Count == 0 ? null : _localAddresses[index % _localAddresses.Count];

    public ClientWebSocket Create()
    {
        var socket = new ClientWebSocket();
        var options = socket.Options;
        options.KeepAliveInterval = _options.KeepAliveInterval;
        options.KeepAliveTimeout = _options.KeepAliveInterval > TimeSpan.Zero && _options.KeepAliveTimeout > TimeSpan.Zero
            ? _options.KeepAliveTimeout
            : Timeout.InfiniteTimeSpan;

        // The managed WebSocket reads payloads straight into the caller's buffer; these only bound what it keeps itself.
        options.SetBuffer(receiveBufferSize: 256, sendBufferSize: 256);
        return socket;
    }

    public Task ConnectAsync(ClientWebSocket socket, int agentIndex, CancellationToken cancellationToken) =>
        socket.ConnectAsync(_options.ServerUrl, _invokers[_invokers.Length == 1 ? 0 : agentIndex % _invokers.Length], cancellationToken);

    public void Dispose()
    {
        foreach (var invoker in _invokers)
        {
            invoker.Dispose();
        }
    }

    private SocketsHttpHandler CreateHandler(IPAddress? localAddress)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = ValidateServerCertificate,
            },
        };
        handler.ConnectCallback = (context, cancellationToken) => ConnectFromAsync(localAddress, context.DnsEndPoint, cancellationToken);
        return handler;
    }

    private static async ValueTask<Stream> ConnectFromAsync(IPAddress? localAddress, DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var family = localAddress?.AddressFamily ?? (IPAddress.TryParse(endPoint.Host, out var literal) ? literal.AddressFamily : AddressFamily.InterNetworkV6);
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (family == AddressFamily.InterNetworkV6 && localAddress is null)
            {
                socket.DualMode = true;
            }

            if (localAddress is not null)
            {
                if (OperatingSystem.IsLinux() && family == AddressFamily.InterNetwork)
                {
                    socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                }

                socket.Bind(new IPEndPoint(localAddress, 0));
            }

            await socket.ConnectAsync(endPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_options.AcceptAnyServerCertificate || errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (_trusted is null || certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        // Only chain errors are left: rebuild the chain against the configured PEM as the root (or pinned leaf).
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        foreach (var trusted in _trusted)
        {
            if (trusted.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                return true;
            }
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(_trusted);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(leaf);
    }

    private static X509Certificate2Collection? LoadTrusted(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return null;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"Simulator:TrustedCertificatePath '{path}' could not be read as PEM certificates: {ex.Message}", ex);
        }

        if (collection.Count == 0)
        {
            throw new ArgumentException($"Simulator:TrustedCertificatePath '{path}' holds no PEM certificate (expected -----BEGIN CERTIFICATE-----).");
        }

        return collection;
    }
}
