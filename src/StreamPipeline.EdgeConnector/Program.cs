using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Hosting;

if (args is ["tokens", ..]) return TokensCommand.Run(args[1..], Environment.GetEnvironmentVariable("StreamPipeline__EdgeConnector__TokenStorePath") ?? "tokens.txt");

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddEdgeConnector();
var app = builder.Build();
app.MapEdgeConnector();
await app.RunAsync();
return 0;
