namespace StreamPipeline.ServiceDefaults.Hosting;

/// <summary>
/// <c>X.dll healthcheck URL</c>: GETs a health endpoint of the ops port and exits 0 on 2xx, 1 otherwise. Container images
/// carry no shell or curl, so Docker's <c>HEALTHCHECK CMD ["dotnet", "X.dll", "healthcheck", "http://127.0.0.1:8080/readyz"]</c>
/// runs this instead.
/// </summary>
public static class HealthProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args is not [var url] || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            await Console.Error.WriteLineAsync("Usage: healthcheck http://127.0.0.1:OPS_PORT/readyz");
            return ServiceExitCodes.StartFailed;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(uri);
            await Console.Out.WriteLineAsync($"{uri}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? ServiceExitCodes.Success : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{uri}: {e.Message}");
            return 1;
        }
    }
}
