using StreamPipeline.Dispatcher.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("StreamPipeline__");
builder.AddDispatcher();
var app = builder.Build();
app.MapDispatcher();
await app.RunAsync();
