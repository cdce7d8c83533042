using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.EdgeConnector.Authentication;

namespace StreamPipeline.Testing.EdgeConnector;

/// <summary>
/// The files an edge connector reads, in one temporary directory: its certificate and key (the connector generates them
/// on its first start unless they exist) and its token store, provisioned for simulated agents <c>sim-000001</c> on.
/// Connectors behind one name (a load balancer's) share one; <see cref="ConnectorHost"/> makes its own when given none.
/// </summary>
public sealed class ConnectorFiles : IDisposable
{
    public const string DefaultTokenSeed = "connector-tests";

    private ConnectorFiles(string dir, string tokenSeed)
    {
        Dir = dir;
        TokenSeed = tokenSeed;
    }

    public string Dir { get; }

    /// <summary>The seed the simulated agents' tokens derive from (<see cref="SimulatedFleet.TokenFor"/>).</summary>
    public string TokenSeed { get; }

    public string CertificatePath => Path.Combine(Dir, "connector.crt");
    public string KeyPath => Path.Combine(Dir, "connector.key");
    public string TokenStorePath => Path.Combine(Dir, "tokens.txt");

    /// <summary>A new directory whose token store holds the tokens of <paramref name="agents"/> simulated agents.</summary>
    public static ConnectorFiles Create(int agents, string tokenSeed = DefaultTokenSeed, string prefix = "edge-")
    {
        var files = new ConnectorFiles(Directory.CreateTempSubdirectory(prefix).FullName, tokenSeed);
        File.WriteAllLines(files.TokenStorePath, Enumerable.Range(1, agents).Select(i =>
        {
            var id = SimulatedFleet.AgentIdFor("sim-", i);
            return TokenHashes.Line(id, SimulatedFleet.TokenFor(tokenSeed, id));
        }));
        return files;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
