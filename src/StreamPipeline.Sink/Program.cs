using StreamPipeline.Sink.Hosting;

if (args is ["migrate", ..]) return await MigrateCommand.RunAsync(args[1..]);

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddSink();
var app = builder.Build();
app.MapSink();
await app.RunAsync();
return Environment.ExitCode;
