using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StreamPipeline.Sink.Schema;

/// <summary>One file of schemas/clickhouse (<c>NNN_name.sql</c>), embedded in the sink.</summary>
/// <param name="Version">The number before the underscore; migrations run in this order.</param>
/// <param name="Name">The rest of the file name.</param>
/// <param name="Sql">The file text, with <c>{database}</c>, <c>{raw_ttl_days}</c> and <c>{rollup_ttl_days}</c> placeholders.</param>
internal sealed record Migration(int Version, string Name, string Sql)
{
    private const string ResourcePrefix = "StreamPipeline.Sink.Migrations.";

    /// <summary>SHA-256 of the file text (before placeholders are filled), so a TTL change is not a changed migration.</summary>
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));

    /// <summary>The statements of the file with the placeholders filled, one per <c>;</c> at the end of a line.</summary>
    public IReadOnlyList<string> Statements(string database, int rawTtlDays, int rollupTtlDays)
    {
        var text = Sql
            .Replace("{database}", database, StringComparison.Ordinal)
            .Replace("{raw_ttl_days}", rawTtlDays.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{rollup_ttl_days}", rollupTtlDays.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var statements = new List<string>();
        var current = new StringBuilder();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (current.Length == 0 && (line.Length == 0 || line.TrimStart().StartsWith("--", StringComparison.Ordinal))) continue;
            var trimmed = line.TrimEnd();
            if (trimmed.EndsWith(';'))
            {
                current.Append(trimmed.AsSpan(0, trimmed.Length - 1));
                statements.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(line).Append('\n');
            }
        }

        if (current.ToString().Trim().Length > 0) statements.Add(current.ToString());
        return statements;
    }

    /// <summary>Every embedded migration, in version order.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var fileName = resource[ResourcePrefix.Length..^4];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration file '{fileName}.sql' is not named NNN_name.sql: rename it in schemas/clickhouse.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(new Migration(version, fileName[(underscore + 1)..], reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
                throw new InvalidOperationException($"Two migrations have version {migrations[i].Version} ({migrations[i - 1].Name}, {migrations[i].Name}): give one a new number.");
        }

        return migrations;
    }
}
