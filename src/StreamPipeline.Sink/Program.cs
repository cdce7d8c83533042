using StreamPipeline.ServiceDefaults.Hosting;
using StreamPipeline.Sink.Hosting;
using StreamPipeline.Sink.Replay;

if (args is ["healthcheck", ..]) return await HealthProbe.RunAsync(args[1..], "Sink:OpsPort", new StreamPipeline.Sink.SinkOptions().OpsPort);
if (args is ["migrate", ..]) return await MigrateCommand.RunAsync(args[1..]);
if (args is ["replay-dead-letters", ..]) return await ReplayCommand.RunAsync(args[1..]);

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddSink();
var app = builder.Build();
app.MapSink();
// Exit codes (docs/deploy.md): 0 drained after SIGTERM/SIGINT, 1 could not start, 2 fatal sink error, 4 drain overran.
return await app.RunServiceAsync();
