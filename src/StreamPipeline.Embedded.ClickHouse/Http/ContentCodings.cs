using System.IO.Compression;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using StreamPipeline.Embedded.ClickHouse.Engine;
using ZstdSharp;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// HTTP body codings the facade speaks, as ClickHouse does: request bodies with <c>Content-Encoding</c> gzip, deflate
/// (zlib), br, zstd or lz4 (LZ4 frame) are decoded; responses are encoded when the client sent
/// <c>enable_http_compression=1</c> and an <c>Accept-Encoding</c> we support.
/// </summary>
internal static class ContentCodings
{
    public const string Supported = "gzip, deflate, br, zstd, lz4";

    /// <summary>Wraps the request body in a decoder for its Content-Encoding; an unknown coding is an error value.</summary>
    public static ChDbError? OpenRequestBody(Stream body, string? contentEncoding, out Stream decoded)
    {
        decoded = body;
        var coding = contentEncoding?.Trim();
        if (string.IsNullOrEmpty(coding) || coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        Stream? decoder = coding.ToLowerInvariant() switch
        {
            "gzip" or "x-gzip" => new GZipStream(body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(body, CompressionMode.Decompress, leaveOpen: true),
            "br" => new BrotliStream(body, CompressionMode.Decompress, leaveOpen: true),
            "zstd" => new DecompressionStream(body, leaveOpen: true),
            "lz4" => LZ4Stream.Decode(body, leaveOpen: true),
            _ => null,
        };
        if (decoder is null)
        {
            return ErrorCodes.Create(
                ErrorCodes.UnknownCompressionMethod,
                $"Unknown HTTP Content-Encoding '{coding}' of the request body. Supported: {Supported}; or send the body uncompressed");
        }

        decoded = new DecodingStream(decoder, coding.ToLowerInvariant());
        return null;
    }

    /// <summary>The response coding to use, or null: the first coding of Accept-Encoding that we support.</summary>
    public static string? ChooseResponseCoding(string? acceptEncoding)
    {
        if (string.IsNullOrWhiteSpace(acceptEncoding))
        {
            return null;
        }

        foreach (var part in acceptEncoding.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var semicolon = part.IndexOf(';', StringComparison.Ordinal);
            var token = (semicolon < 0 ? part : part[..semicolon]).Trim().ToLowerInvariant();
            if (semicolon >= 0 && part.AsSpan(semicolon).Contains("q=0", StringComparison.Ordinal) && !part.AsSpan(semicolon).Contains("q=0.", StringComparison.Ordinal))
            {
                continue;
            }

            if (token is "gzip" or "deflate" or "br" or "zstd" or "lz4")
            {
                return token;
            }
        }

        return null;
    }

    /// <summary>An encoder over the response body for a coding from <see cref="ChooseResponseCoding"/>.</summary>
    public static Stream OpenResponseEncoder(Stream body, string coding) => coding switch
    {
        "gzip" => new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true),
        "deflate" => new ZLibStream(body, CompressionLevel.Fastest, leaveOpen: true),
        "br" => new BrotliStream(body, CompressionLevel.Fastest, leaveOpen: true),
        "zstd" => new CompressionStream(body, level: 1, leaveOpen: true),
        "lz4" => LZ4Stream.Encode(body, LZ4Level.L00_FAST, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(coding), coding, "Unsupported response coding."),
    };

    /// <summary>A corrupt body: the ClickHouse error code its decoder would raise.</summary>
    public static ChDbError DecodingError(string coding, Exception cause)
    {
        var code = coding switch
        {
            "zstd" => ErrorCodes.ZstdDecoderFailed,
            "lz4" => ErrorCodes.Lz4DecoderFailed,
            "br" => ErrorCodes.BrotliReadFailed,
            _ => ErrorCodes.ZlibInflateFailed,
        };
        return ErrorCodes.Create(
            code,
            $"Cannot decompress the request body sent with Content-Encoding: {coding} ({cause.GetType().Name}: {cause.Message.TrimEnd('.')}). " +
            "The body is corrupt or is not in that coding; send it again compressed correctly, or uncompressed without the header");
    }
}

/// <summary>Thrown when a request body cannot be decoded; carries the ClickHouse error to answer with.</summary>
internal sealed class ContentDecodingException : Exception
{
    public ContentDecodingException()
    {
        Error = ErrorCodes.Create(ErrorCodes.StdException, "Cannot decode the request body");
    }

    public ContentDecodingException(string message) : base(message)
    {
        Error = ErrorCodes.Create(ErrorCodes.StdException, message);
    }

    public ContentDecodingException(string message, Exception innerException) : base(message, innerException)
    {
        Error = ErrorCodes.Create(ErrorCodes.StdException, message);
    }

    public ContentDecodingException(ChDbError error, Exception innerException) : base(error.Message, innerException) => Error = error;

    public ChDbError Error { get; }
}

/// <summary>Turns a decoder's failure into <see cref="ContentDecodingException"/>, leaving transport failures alone.</summary>
internal sealed class DecodingStream(Stream decoder, string coding) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return decoder.Read(buffer);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new ContentDecodingException(ContentCodings.DecodingError(coding, e), e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await decoder.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new ContentDecodingException(ContentCodings.DecodingError(coding, e), e);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decoder.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsDecoderFailure(Exception e) =>
        e is not (OperationCanceledException or BadHttpRequestException or ConnectionResetException or ObjectDisposedException or ContentDecodingException);
}
