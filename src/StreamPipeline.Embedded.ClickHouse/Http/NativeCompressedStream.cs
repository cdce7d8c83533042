using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using StreamPipeline.Embedded.ClickHouse.Engine;
using ZstdSharp;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// Reads a body in ClickHouse's native compressed block format (URL parameter <c>decompress=1</c>): per block a 16-byte
/// CityHash128 checksum, a method byte (0x02 none, 0x82 LZ4, 0x90 ZSTD), the compressed size (with the 9-byte header)
/// and the decompressed size. The checksum is not verified: loopback transport, and no CityHash 1.0.2 here.
/// </summary>
internal sealed class NativeCompressedStream(Stream inner) : Stream
{
    private const int HeaderSize = 9;
    private const int MaxBlockSize = 256 << 20;

    private readonly byte[] header = new byte[16 + HeaderSize];
    private byte[] block = [];
    private int blockLength;
    private int blockPosition;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (blockPosition == blockLength && !await ReadBlockAsync(cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        var n = Math.Min(buffer.Length, blockLength - blockPosition);
        block.AsSpan(blockPosition, n).CopyTo(buffer.Span);
        blockPosition += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (block.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(block);
            block = [];
        }

        base.Dispose(disposing);
    }

    private static ContentDecodingException Corrupt(string what) => new(
        ErrorCodes.Create(ErrorCodes.CannotDecompress, $"Cannot decompress the request body sent with decompress=1: {what}. Send ClickHouse native compressed blocks, or drop decompress=1"),
        new InvalidDataException(what));

    private async ValueTask<bool> ReadBlockAsync(CancellationToken cancellationToken)
    {
        var got = await inner.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return false;
        }

        if (got < header.Length)
        {
            throw Corrupt("the body ends inside a block header");
        }

        var method = header[16];
        var compressedSize = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(17));
        var size = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(21));
        if (compressedSize < HeaderSize || compressedSize > MaxBlockSize || size < 0 || size > MaxBlockSize)
        {
            throw Corrupt($"block sizes {compressedSize}/{size} are out of range");
        }

        var payloadLength = compressedSize - HeaderSize;
        var payload = ArrayPool<byte>.Shared.Rent(Math.Max(1, payloadLength));
        try
        {
            if (await inner.ReadAtLeastAsync(payload.AsMemory(0, payloadLength), payloadLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < payloadLength)
            {
                throw Corrupt("the body ends inside a block");
            }

            if (block.Length < size)
            {
                if (block.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(block);
                }

                block = ArrayPool<byte>.Shared.Rent(size);
            }

            switch (method)
            {
                case 0x02:
                    if (payloadLength != size)
                    {
                        throw Corrupt("an uncompressed block's sizes differ");
                    }

                    payload.AsSpan(0, size).CopyTo(block);
                    break;
                case 0x82:
                    if (LZ4Codec.Decode(payload.AsSpan(0, payloadLength), block.AsSpan(0, size)) != size)
                    {
                        throw Corrupt("an LZ4 block does not decode to its stated size");
                    }

                    break;
                case 0x90:
                    try
                    {
                        using var decompressor = new Decompressor();
                        if (decompressor.Unwrap(payload.AsSpan(0, payloadLength), block.AsSpan(0, size)) != size)
                        {
                            throw Corrupt("a ZSTD block does not decode to its stated size");
                        }
                    }
                    catch (ZstdException e)
                    {
                        throw Corrupt("a ZSTD block is corrupt: " + e.Message);
                    }

                    break;
                default:
                    throw Corrupt($"unknown compression method byte 0x{method:x2}");
            }

            blockLength = size;
            blockPosition = 0;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }
}
