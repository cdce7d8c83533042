using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>Every log event of the embedded registry (event ids 1-99).</summary>
internal static partial class Log
{
    [LoggerMessage(8501, LogLevel.Information, "Embedded Schema Registry listening on {Url}")]
    public static partial void Started(ILogger logger, Uri url);

    [LoggerMessage(8502, LogLevel.Information, "Embedded Schema Registry on {Url} stopped")]
    public static partial void Stopped(ILogger logger, Uri url);

    [LoggerMessage(8503, LogLevel.Information, "Registered schema id {SchemaId} as version {Version} of subject {Subject}")]
    public static partial void SchemaRegistered(ILogger logger, string subject, int version, int schemaId);

    [LoggerMessage(8504, LogLevel.Information, "Refused an incompatible schema for subject {Subject}: {Reason}")]
    public static partial void SchemaRefused(ILogger logger, string subject, string reason);

    [LoggerMessage(8505, LogLevel.Information, "Deleted versions {Versions} of subject {Subject} (permanent: {Permanent})")]
    public static partial void VersionsDeleted(ILogger logger, string subject, IReadOnlyList<int> versions, bool permanent);

    [LoggerMessage(8506, LogLevel.Information, "Compatibility of {Scope} set to {Compatibility}")]
    public static partial void CompatibilitySet(ILogger logger, string scope, string compatibility);

    [LoggerMessage(8507, LogLevel.Debug, "{Method} {Path} answered {StatusCode} with error_code {ErrorCode}: {Message}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, int statusCode, int errorCode, string message);

    [LoggerMessage(8508, LogLevel.Error, "{Method} {Path} failed unexpectedly")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string method, string path);
}
