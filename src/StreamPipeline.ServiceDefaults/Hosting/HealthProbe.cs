namespace StreamPipeline.ServiceDefaults.Hosting;

/// <summary>
/// <c>X healthcheck [URL]</c>: GETs a health endpoint of the ops port and exits 0 on 2xx, 1 otherwise. Container images
/// carry no shell or curl, so Docker's <c>HEALTHCHECK CMD ["/app/X", "healthcheck"]</c> runs this instead. Without a URL
/// it probes <c>http://127.0.0.1:PORT/readyz</c>, PORT being the service's own ops-port setting as the service reads it
/// from the environment (<c>StreamPipeline__Sink__OpsPort</c>, ...): right when an operator moves the ops port, or when
/// several services share one network namespace (<c>--network host</c>).
/// </summary>
public static class HealthProbe
{
    /// <param name="args">the arguments after <c>healthcheck</c>: none, or the URL to probe.</param>
    /// <param name="opsPortSetting">the service's ops-port setting, e.g. <c>Sink:OpsPort</c>.</param>
    /// <param name="defaultOpsPort">the service's default for that setting.</param>
    public static async Task<int> RunAsync(string[] args, string opsPortSetting, int defaultOpsPort)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(opsPortSetting);
        var url = args switch
        {
            [] => ConfiguredUrl(opsPortSetting, defaultOpsPort),
            [var given] => given,
            _ => null,
        };
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            await Console.Error.WriteLineAsync($"Usage: healthcheck [http://127.0.0.1:OPS_PORT/readyz] (without a URL: the port of {opsPortSetting}, default {defaultOpsPort})");
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

    /// <summary>The service's own readiness URL from its ops-port variable; null when that variable is not a port.</summary>
    private static string? ConfiguredUrl(string opsPortSetting, int defaultOpsPort)
    {
        var value = Environment.GetEnvironmentVariable("StreamPipeline__" + opsPortSetting.Replace(":", "__", StringComparison.Ordinal));
        var port = defaultOpsPort;
        if (!string.IsNullOrWhiteSpace(value) && (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)) return null;
        return $"http://127.0.0.1:{port}/readyz";
    }
}
