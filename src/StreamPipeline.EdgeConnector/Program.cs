using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Hosting;
using StreamPipeline.ServiceDefaults.Hosting;

if (args is ["healthcheck", ..]) return await HealthProbe.RunAsync(args[1..], "EdgeConnector:OpsPort", new StreamPipeline.EdgeConnector.EdgeConnectorOptions().OpsPort);
if (args is ["tokens", ..])
{
    return TokensCommand.Run(args[1..], Environment.GetEnvironmentVariable("StreamPipeline__EdgeConnector__TokenStorePath") ?? "tokens.txt",
        Environment.GetEnvironmentVariable("StreamPipeline__EdgeConnector__CredentialStore"));
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddEdgeConnector();
var app = builder.Build();
app.MapEdgeConnector();
// Exit codes (docs/deploy.md): 0 drained after SIGTERM/SIGINT, 1 could not start, 3 incompatible schema, 4 drain overran.
return await app.RunServiceAsync();
