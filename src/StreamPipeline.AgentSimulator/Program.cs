using Microsoft.Extensions.Hosting;
using StreamPipeline.AgentSimulator.Fleet;

// A fleet of simulated monitoring agents against the edge connector, e.g.
//   dotnet run --project src/StreamPipeline.AgentSimulator -- --Simulator:AgentCount=1000 --Simulator:TokenSeed=dev --Simulator:AcceptAnyServerCertificate=true
var builder = Host.CreateApplicationBuilder(args);
builder.AddAgentSimulator();
await builder.Build().RunAsync();
