using StreamPipeline.Dispatcher.Hosting;
using StreamPipeline.ServiceDefaults.Hosting;

if (args is ["healthcheck", ..]) return await HealthProbe.RunAsync(args[1..], "Dispatcher:OpsPort", new StreamPipeline.Dispatcher.DispatcherOptions().OpsPort);

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddDispatcher();
var app = builder.Build();
app.MapDispatcher();
// Exit codes (docs/deploy.md): 0 drained after SIGTERM/SIGINT, 1 could not start, 3 fatal Kafka error, 4 drain overran.
return await app.RunServiceAsync();
