using System.Globalization;
using ClickHouse.Driver;

namespace StreamPipeline.Embedded.ClickHouse.Tests;

/// <summary>
/// One embedded ClickHouse for the whole test assembly (chDB is process-global), on a fresh temporary DataPath.
/// Each test works in its own database.
/// </summary>
public sealed class ClickHouseFixture : IAsyncLifetime
{
    public const string Password = "s3cret";

    private int databases;

    public EmbeddedClickHouse Server { get; private set; } = null!;

    public string DataPath { get; } = Path.Combine(Path.GetTempPath(), "sp-clickhouse-tests-" + Guid.NewGuid().ToString("N"));

    public ClickHouseClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await EmbeddedClickHouse.StartAsync(Options());
        Client = new ClickHouseClient(Server.ConnectionString);
    }

    /// <summary>Stops the instance and starts a new one on the same DataPath (the engine stays loaded in the process).</summary>
    public async Task RestartAsync()
    {
        Client.Dispose();
        await Server.StopAsync();
        await InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // The engine keeps its files open until the process exits.
        }
    }

    private EmbeddedClickHouseOptions Options() => new()
    {
        DataPath = DataPath,
        Password = Password,
        MaxServerMemoryBytes = 2L << 30,
        MarkCacheBytes = 64L << 20,
    };

    /// <summary>Creates a database of the test's own and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Interlocked.Increment(ref databases)}");
        await Client.ExecuteNonQueryAsync($"CREATE DATABASE IF NOT EXISTS {name}");
        return name;
    }

    public async Task<ulong> CountAsync(string table) =>
        Convert.ToUInt64(await Client.ExecuteScalarAsync($"SELECT count() FROM {table}"), CultureInfo.InvariantCulture);
}

[CollectionDefinition(Name)]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseFixture>
{
    public const string Name = "embedded-clickhouse";
}
