using Microsoft.AspNetCore.Http;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// The URL parameters of a ClickHouse HTTP request, split the way ClickHouse's HTTPHandler does: its own parameters,
/// query parameters (<c>param_*</c>) and everything else as settings for the query.
/// </summary>
internal sealed class RequestParameters
{
    /// <summary>Parameters the HTTP interface consumes itself; they are not settings of the query.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "query", "database", "default_format", "query_id", "user", "password", "quota_key", "session_id", "session_timeout",
        "session_check", "close_session", "compress", "decompress", "enable_http_compression", "http_zlib_compression_level",
        "buffer_size", "wait_end_of_query", "http_wait_end_of_query", "stacktrace", "role", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "add_http_cors_header", "client_protocol_version", "http_response_buffer_size",
        "http_native_compression_disable_checksumming_on_decompress",
    };

    public string? Query { get; private set; }

    public string? Database { get; private set; }

    public string? DefaultFormat { get; private set; }

    public string? QueryId { get; private set; }

    public string? User { get; private set; }

    public string? Password { get; private set; }

    public bool EnableHttpCompression { get; private set; }

    public bool Decompress { get; private set; }

    public List<KeyValuePair<string, string>> Parameters { get; } = [];

    public List<KeyValuePair<string, string>> Settings { get; } = [];

    public static RequestParameters Parse(IQueryCollection query)
    {
        var result = new RequestParameters();
        foreach (var (name, values) in query)
        {
            var value = values.Count == 0 ? string.Empty : values[^1] ?? string.Empty;
            switch (name)
            {
                case "query":
                    result.Query = value;
                    break;
                case "database":
                    result.Database = value;
                    break;
                case "default_format":
                    result.DefaultFormat = value;
                    break;
                case "query_id":
                    result.QueryId = value;
                    break;
                case "user":
                    result.User = value;
                    break;
                case "password":
                    result.Password = value;
                    break;
                case "enable_http_compression":
                    result.EnableHttpCompression = IsTrue(value);
                    break;
                case "decompress":
                    result.Decompress = IsTrue(value);
                    break;
                default:
                    if (name.StartsWith("param_", StringComparison.Ordinal) && name.Length > "param_".Length)
                    {
                        result.Parameters.Add(new(name["param_".Length..], value));
                    }
                    else if (!Reserved.Contains(name) && name.Length > 0)
                    {
                        result.Settings.Add(new(name, value));
                    }

                    break;
            }
        }

        return result;
    }

    private static bool IsTrue(string value) =>
        value is "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase);
}
