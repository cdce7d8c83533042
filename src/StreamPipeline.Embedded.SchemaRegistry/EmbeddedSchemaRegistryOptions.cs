using System.Net;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>Settings of an <see cref="EmbeddedSchemaRegistry"/>.</summary>
public sealed class EmbeddedSchemaRegistryOptions
{
    /// <summary>IP address to listen on. Default: <c>127.0.0.1</c> (loopback only).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port to listen on; 0 picks a free ephemeral port. Default: 0.</summary>
    public int Port { get; set; }

    /// <summary>Global compatibility level until changed with <c>PUT /config</c>. Default: <see cref="SchemaCompatibilityLevel.Backward"/>.</summary>
    public SchemaCompatibilityLevel DefaultCompatibility { get; set; } = SchemaCompatibilityLevel.Backward;

    /// <summary>Where the registry logs; ASP.NET Core's own categories are limited to warnings. Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Throws one <see cref="ArgumentException"/> that lists every invalid setting.</summary>
    internal void Validate()
    {
        List<string> errors = [];
        if (string.IsNullOrWhiteSpace(Host) || !IPAddress.TryParse(Host, out _))
        {
            errors.Add($"{nameof(EmbeddedSchemaRegistryOptions)}.{nameof(Host)} must be an IP address such as 127.0.0.1 (was '{Host}').");
        }

        if (Port is < 0 or > IPEndPoint.MaxPort)
        {
            errors.Add($"{nameof(EmbeddedSchemaRegistryOptions)}.{nameof(Port)} must be between 0 and {IPEndPoint.MaxPort}; use 0 for a free ephemeral port (was {Port}).");
        }

        if (!Enum.IsDefined(DefaultCompatibility))
        {
            errors.Add($"{nameof(EmbeddedSchemaRegistryOptions)}.{nameof(DefaultCompatibility)} must be one of {string.Join(", ", Enum.GetNames<SchemaCompatibilityLevel>())} (was {(int)DefaultCompatibility}).");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Embedded Schema Registry options: " + string.Join(" ", errors));
        }
    }
}
