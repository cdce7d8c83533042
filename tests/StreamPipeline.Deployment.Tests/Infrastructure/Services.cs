using System.Globalization;

namespace StreamPipeline.Deployment.Tests.Infrastructure;

/// <summary>The three services as deployed: their project, their own settings, their ops port and documented shutdown budget.</summary>
public static class Services
{
    /// <summary>HostOptions.ShutdownTimeout of each service with default settings (docs/deploy.md).</summary>
    public static TimeSpan ShutdownTimeout(string service) => service switch
    {
        "connector" => TimeSpan.FromSeconds(30),
        "dispatcher" => TimeSpan.FromSeconds(30),
        "sink" => TimeSpan.FromSeconds(35),
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    public static string Project(string service) => service switch
    {
        "connector" => "StreamPipeline.EdgeConnector",
        "dispatcher" => "StreamPipeline.Dispatcher",
        "sink" => "StreamPipeline.Sink",
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    /// <summary>The configuration section of the service's own settings.</summary>
    public static string Section(string service) => service switch
    {
        "connector" => "EdgeConnector",
        "dispatcher" => "Dispatcher",
        "sink" => "Sink",
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    /// <summary>The service's own settings on fresh ports; returns the ops port that serves /readyz.</summary>
    public static int AddOwnSettings(string service, Dictionary<string, string?> settings, string dataPath)
    {
        var ops = Repository.FreePort();
        var id = service + "-" + Guid.NewGuid().ToString("N")[..6];
        var port = ops.ToString(CultureInfo.InvariantCulture);
        switch (service)
        {
            case "connector":
                var dir = Path.Combine(dataPath, id);
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "tokens.txt"), "");
                settings["EdgeConnector:ConnectorId"] = id;
                settings["EdgeConnector:ListenAddress"] = "127.0.0.1";
                settings["EdgeConnector:Port"] = Repository.FreePort().ToString(CultureInfo.InvariantCulture);
                settings["EdgeConnector:OpsPort"] = port;
                settings["EdgeConnector:CertificatePath"] = Path.Combine(dir, "tls.crt");
                settings["EdgeConnector:CertificateKeyPath"] = Path.Combine(dir, "tls.key");
                settings["EdgeConnector:GenerateDevelopmentCertificate"] = "true";
                settings["EdgeConnector:TokenStorePath"] = Path.Combine(dir, "tokens.txt");
                break;
            case "dispatcher":
                settings["Dispatcher:DispatcherId"] = id;
                settings["Dispatcher:ListenAddress"] = "127.0.0.1";
                settings["Dispatcher:OpsPort"] = port;
                break;
            case "sink":
                settings["Sink:OpsAddress"] = "127.0.0.1";
                settings["Sink:OpsPort"] = port;
                settings["Sink:CreateDeadLetterTopic"] = "false";
                break;
        }

        return ops;
    }

    public static async Task WaitReadyAsync(ChildProcess process, int opsPort, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"The service exited before it was ready. Output:\n{process.Tail()}");
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{opsPort}/readyz"));
                if (response.IsSuccessStatusCode) return;
                last = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"/readyz on {opsPort} not 200 within {timeout} (last: {last}). Output:\n{process.Tail()}");
    }
}
