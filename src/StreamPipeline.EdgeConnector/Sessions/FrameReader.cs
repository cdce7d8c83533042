using System.Buffers;
using System.Net.WebSockets;

namespace StreamPipeline.EdgeConnector.Sessions;

internal enum FrameStatus { Frame, TooLarge, Closed }

/// <summary>
/// Reads whole WebSocket messages into a pooled buffer that grows only as far as the largest frame allowed; the
/// size of a frame is never taken from the network, only the bytes that actually arrived. The buffer is rented
/// only once a message arrives and given back at the next read, so an idle agent holds no buffer (a zero-byte
/// read waits for the data, as YARP's StreamCopier does).
/// </summary>
internal sealed class FrameReader(WebSocket socket, int maxFrameBytes) : IDisposable
{
    private const int InitialSize = 4096;
    private int _maxFrameBytes = maxFrameBytes;
    private byte[] _buffer = [];
    private int _length;

    public ReadOnlySpan<byte> Frame => _buffer.AsSpan(0, _length);
    public ReadOnlyMemory<byte> FrameMemory => _buffer.AsMemory(0, _length);

    /// <summary>Largest frame the next reads accept: small before authentication, the full limit after.</summary>
    public int MaxFrameBytes
    {
        get => _maxFrameBytes;
        set => _maxFrameBytes = value;
    }

    public async ValueTask<FrameStatus> ReadAsync(CancellationToken ct)
    {
        ReturnBuffer();
        var probe = await socket.ReceiveAsync(Memory<byte>.Empty, ct);
        if (probe.MessageType == WebSocketMessageType.Close) return FrameStatus.Closed;
        if (probe.EndOfMessage) return FrameStatus.Frame; // an empty message
        var maxFrameBytes = _maxFrameBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialSize, maxFrameBytes));
        while (true)
        {
            if (_length == _buffer.Length)
            {
                if (_buffer.Length >= maxFrameBytes) return FrameStatus.TooLarge;
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxFrameBytes));
                _buffer.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            var room = Math.Min(_buffer.Length, maxFrameBytes) - _length;
            var result = await socket.ReceiveAsync(_buffer.AsMemory(_length, room), ct);
            if (result.MessageType == WebSocketMessageType.Close) return FrameStatus.Closed;
            _length += result.Count;
            if (result.EndOfMessage) return FrameStatus.Frame;
            if (_length >= maxFrameBytes) return FrameStatus.TooLarge;
        }
    }

    private void ReturnBuffer()
    {
        _length = 0;
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Dispose() => ReturnBuffer();
}
