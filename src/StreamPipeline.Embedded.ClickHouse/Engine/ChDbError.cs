using System.Globalization;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>A ClickHouse error as a value: the numeric code, its name and the message without chDB's decorations.</summary>
internal sealed class ChDbError
{
    private const string CodePrefix = "Code: ";
    private const string ExceptionPrefix = ". DB::Exception: ";

    public ChDbError(int code, string name, string message)
    {
        Code = code;
        Name = name;
        Message = message;
    }

    public int Code { get; }

    public string Name { get; }

    public string Message { get; }

    /// <summary>
    /// Parses chDB's error text. It comes as <c>Code: 60. DB::Exception: msg. (UNKNOWN_TABLE)</c>, sometimes nested
    /// (<c>Code: 73. DB::Exception: Code: 73. DB::Exception: ...</c>) and sometimes with <c>(version x)</c> suffixes.
    /// Text without a code (chDB's own API errors such as "Invalid insert stream") becomes STD_EXCEPTION (1001).
    /// </summary>
    public static ChDbError Parse(string text)
    {
        var message = text.Trim();
        var code = -1;
        while (TryStripCodePrefix(ref message, out var nested))
        {
            if (code < 0)
            {
                code = nested;
            }
        }

        string? name = null;
        while (true)
        {
            message = message.TrimEnd().TrimEnd('.').TrimEnd();
            if (message.EndsWith(')'))
            {
                var open = message.LastIndexOf('(');
                if (open >= 0)
                {
                    var inner = message.AsSpan(open + 1, message.Length - open - 2);
                    if (inner.StartsWith("version ", StringComparison.Ordinal))
                    {
                        message = message[..open];
                        continue;
                    }

                    if (IsErrorName(inner))
                    {
                        name ??= inner.ToString();
                        message = message[..open];
                        continue;
                    }
                }
            }

            break;
        }

        if (code < 0)
        {
            return new ChDbError(ErrorCodes.StdException, "STD_EXCEPTION", message);
        }

        return new ChDbError(code, name ?? ErrorCodes.NameOf(code), message);
    }

    /// <summary>The body ClickHouse itself sends: <c>Code: N. DB::Exception: msg. (NAME) (version v)</c>.</summary>
    public string ToClickHouseText(string version) =>
        string.Create(CultureInfo.InvariantCulture, $"{CodePrefix}{Code}{ExceptionPrefix}{Message}. ({Name}) (version {version})\n");

    public override string ToString() => ToClickHouseText("chDB");

    private static bool TryStripCodePrefix(ref string message, out int code)
    {
        code = 0;
        if (!message.StartsWith(CodePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var dot = message.IndexOf(ExceptionPrefix, CodePrefix.Length, StringComparison.Ordinal);
        if (dot < 0 || !int.TryParse(message.AsSpan(CodePrefix.Length, dot - CodePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out code))
        {
            return false;
        }

        message = message[(dot + ExceptionPrefix.Length)..];
        return true;
    }

    private static bool IsErrorName(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The ClickHouse error codes the facade raises itself, and names for the ones it maps to HTTP statuses.</summary>
internal static class ErrorCodes
{
    public const int CannotParseText = 6;
    public const int CannotParseInputAssertionFailed = 27;
    public const int BadArguments = 36;
    public const int SyntaxError = 62;
    public const int UnknownTable = 60;
    public const int UnknownFormat = 73;
    public const int UnknownDatabase = 81;
    public const int UnknownCompressionMethod = 89;
    public const int UnknownSetting = 115;
    public const int QueryIsTooLarge = 229;
    public const int CannotDecompress = 271;
    public const int ZlibInflateFailed = 354;
    public const int HttpLengthRequired = 381;
    public const int BrotliReadFailed = 448;
    public const int AuthenticationFailed = 516;
    public const int ZstdDecoderFailed = 561;
    public const int Lz4DecoderFailed = 618;
    public const int StdException = 1001;

    private static readonly Dictionary<int, string> Names = new()
    {
        [CannotParseText] = "CANNOT_PARSE_TEXT",
        [CannotParseInputAssertionFailed] = "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        [BadArguments] = "BAD_ARGUMENTS",
        [SyntaxError] = "SYNTAX_ERROR",
        [UnknownTable] = "UNKNOWN_TABLE",
        [UnknownFormat] = "UNKNOWN_FORMAT",
        [UnknownDatabase] = "UNKNOWN_DATABASE",
        [UnknownCompressionMethod] = "UNKNOWN_COMPRESSION_METHOD",
        [UnknownSetting] = "UNKNOWN_SETTING",
        [QueryIsTooLarge] = "QUERY_IS_TOO_LARGE",
        [CannotDecompress] = "CANNOT_DECOMPRESS",
        [ZlibInflateFailed] = "ZLIB_INFLATE_FAILED",
        [HttpLengthRequired] = "HTTP_LENGTH_REQUIRED",
        [BrotliReadFailed] = "BROTLI_READ_FAILED",
        [AuthenticationFailed] = "AUTHENTICATION_FAILED",
        [ZstdDecoderFailed] = "ZSTD_DECODER_FAILED",
        [Lz4DecoderFailed] = "LZ4_DECODER_FAILED",
        [StdException] = "STD_EXCEPTION",
    };

    public static string NameOf(int code) => Names.TryGetValue(code, out var name) ? name : "UNKNOWN_EXCEPTION";

    public static ChDbError Create(int code, string message) => new(code, NameOf(code), message);

    /// <summary>The HTTP status ClickHouse's HTTPHandler uses for an exception code (exceptionCodeToHTTPStatus).</summary>
    public static int HttpStatusOf(int code) => code switch
    {
        194 => 401,
        192 or 193 or AuthenticationFailed or 495 => 403,
        BadArguments or 427 or CannotParseText or 25 or 26 or 38 or 41 or 72 or 69 or 441 or 442 or CannotParseInputAssertionFailed
            or 376 or 15 or 44 or 45 or 123 or 167 or 168 or 169 or SyntaxError or 117 or 53 or 321 or UnknownCompressionMethod => 400,
        UnknownTable or 46 or 47 or 50 or 56 or UnknownDatabase or UnknownSetting or 64 or 63 or UnknownFormat or 336 or 78 => 404,
        QueryIsTooLarge => 413,
        48 => 501,
        209 or 76 or 439 => 503,
        HttpLengthRequired => 411,
        159 => 408,
        _ => 500,
    };
}
