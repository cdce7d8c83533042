using System.Diagnostics.Metrics;

namespace StreamPipeline.EdgeConnector.Telemetry;

/// <summary>The connector's counters and histograms (meter <c>StreamPipeline.EdgeConnector</c>, exported at /metrics).</summary>
internal sealed class ConnectorMetrics
{
    public const string MeterName = "StreamPipeline.EdgeConnector";
    // Fine enough below 100 ms to tell a p99 of 20 ms from one of 90 ms.
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 30000],
    };

    private readonly Counter<long> _connectionsRejected;
    private readonly Counter<long> _auth;
    private readonly Counter<long> _invalidFrames;
    private readonly Counter<long> _sessionsRevoked;

    public ConnectorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Connections = meter.CreateUpDownCounter<long>("edge_connections", description: "Open agent sockets (authenticated or not).");
        Sessions = meter.CreateUpDownCounter<long>("edge_sessions", description: "Authenticated agent sessions.");
        ConnectionsAccepted = meter.CreateCounter<long>("edge_connections_accepted_total", description: "Agent sockets accepted.");
        _connectionsRejected = meter.CreateCounter<long>("edge_connections_rejected_total", description: "Agent sockets refused before the WebSocket upgrade, by reason.");
        _auth = meter.CreateCounter<long>("edge_auth_total", description: "Authentication attempts by result.");
        FramesIn = meter.CreateCounter<long>("edge_frames_in_total", description: "Frames received from agents.");
        FramesOut = meter.CreateCounter<long>("edge_frames_out_total", description: "Frames sent to agents.");
        _invalidFrames = meter.CreateCounter<long>("edge_frames_invalid_total", description: "Frames refused, by reason.");
        MetricsPublished = meter.CreateCounter<long>("edge_metrics_published_total", description: "Metrics samples acknowledged by Kafka.");
        PublishFailed = meter.CreateCounter<long>("edge_publish_failed_total", description: "Records Kafka finally refused (each is also logged).");
        SessionsReplaced = meter.CreateCounter<long>("edge_sessions_replaced_total", description: "Sessions closed because the same agent authenticated again.");
        _sessionsRevoked = meter.CreateCounter<long>("edge_sessions_revoked_total", description: "Live sessions closed because their token was revoked, replaced or removed, by reason.");
        PendingRequestsFull = meter.CreateCounter<long>("edge_pending_requests_full_total", description: "Commands not sent because the table of requests waiting for answers was full.");
        FrameLogsSuppressed = meter.CreateCounter<long>("edge_frame_logs_suppressed_total", description: "Per-frame problem log lines not written because the session passed its log budget.");
        ProduceLatency = meter.CreateHistogram("edge_produce_latency", "ms", "Frame received to Kafka acknowledgement.", advice: LatencyBuckets);
        BackpressureWait = meter.CreateHistogram("edge_backpressure_wait", "ms", "Time a socket was not read because Kafka had too many records in flight.", advice: LatencyBuckets);
    }

    public UpDownCounter<long> Connections { get; }
    public UpDownCounter<long> Sessions { get; }
    public Counter<long> ConnectionsAccepted { get; }
    public Counter<long> FramesIn { get; }
    public Counter<long> FramesOut { get; }
    public Counter<long> MetricsPublished { get; }
    public Counter<long> PublishFailed { get; }
    public Counter<long> SessionsReplaced { get; }
    public Counter<long> PendingRequestsFull { get; }
    public Counter<long> FrameLogsSuppressed { get; }
    public Histogram<double> ProduceLatency { get; }
    public Histogram<double> BackpressureWait { get; }

    public void ConnectionRejected(string reason) => _connectionsRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void Auth(string result) => _auth.Add(1, new KeyValuePair<string, object?>("result", result));
    public void SessionRevoked(string reason) => _sessionsRevoked.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void InvalidFrame(string reason) => _invalidFrames.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
