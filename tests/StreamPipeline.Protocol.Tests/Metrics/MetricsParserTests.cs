using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace StreamPipeline.Protocol.Tests.Metrics;

public sealed partial class MetricsParserTests
{
    private const string Remove = "<remove>";

    /// <summary>A valid payload with 3 disks and 2 interfaces that the matrix mutates one field at a time.</summary>
    private const string BasePayload = """
        {"cpuUsagePercent": 12.5, "ramUsagePercent": 45.2, "ramUsedGB": 4.1, "uptimeSeconds": 3600,
         "normalizedLoad": {"1m": 0.5, "5m": 0.4, "15m": 0.2}, "diskReadSpeedMBps": 1.2, "diskWriteSpeedMBps": 0.5,
         "diskUsage": [
           {"device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4", "totalGB": 450.5, "usedGB": 20.1, "usagePercent": 4.5},
           {"device": "/dev/sdb1", "mountpoint": "/data", "fstype": "xfs", "totalGB": 1000, "usedGB": 500, "usagePercent": 50},
           {"device": "tmpfs", "mountpoint": "/run", "fstype": "tmpfs", "totalGB": 1.5, "usedGB": 0, "usagePercent": 0}],
         "networkInterfaces": [
           {"name": "eth0", "mac": "00:11:22:33:44:55", "ipv4": "192.168.1.10", "ipv6": "fe80::1", "uploadSpeedMbps": 5.2, "downloadSpeedMbps": 12.4},
           {"name": "lo", "mac": "00:00:00:00:00:00", "ipv4": "127.0.0.1", "ipv6": "::1", "uploadSpeedMbps": 0, "downloadSpeedMbps": 0}]}
        """;

    private readonly MetricsParser _parser = new();
    private readonly MetricsSample _sample = new();

    [Fact]
    public void TryParse_ProtocolExample_EveryField()
    {
        Assert.True(_parser.TryParse(TestFrames.Utf8(TestFrames.ProtocolExamplePayload), _sample, out var error), error.ToString());

        Assert.Equal(12.5, _sample.CpuUsagePercent);
        Assert.Equal(45.2, _sample.RamUsagePercent);
        Assert.Equal(4.1, _sample.RamUsedGb);
        Assert.Equal(3600, _sample.UptimeSeconds);
        Assert.Equal(0.5, _sample.Load1m);
        Assert.Equal(0.4, _sample.Load5m);
        Assert.Equal(0.2, _sample.Load15m);
        Assert.Equal(1.2, _sample.DiskReadSpeedMbps);
        Assert.Equal(0.5, _sample.DiskWriteSpeedMbps);
        var disk = Assert.Single(_sample.Disks);
        Assert.Equal("/dev/sda1", disk.Device.Value);
        Assert.Equal("/", disk.Mountpoint.Value);
        Assert.Equal("ext4", disk.Fstype.Value);
        Assert.Equal(450.5, disk.TotalGb);
        Assert.Equal(20.1, disk.UsedGb);
        Assert.Equal(4.5, disk.UsagePercent);
        var nic = Assert.Single(_sample.NetworkInterfaces);
        Assert.Equal("eth0", nic.Name.Value);
        Assert.Equal("00:11:22:33:44:55", nic.Mac.Value);
        Assert.Equal("192.168.1.10", nic.Ipv4.Value);
        Assert.Equal("fe80::1", nic.Ipv6.Value);
        Assert.Equal(5.2, nic.UploadSpeedMbps);
        Assert.Equal(12.4, nic.DownloadSpeedMbps);
    }

    [Fact]
    public void TryParse_RealisticFramePayload_TwoDisksTwoInterfaces()
    {
        Assert.True(EnvelopeParser.TryParse(TestFrames.Utf8(TestFrames.RealisticMetricsFrame), out var envelope, out _));

        Assert.True(_parser.TryParse(envelope.Payload, _sample, out var error), error.ToString());

        Assert.Equal(2, _sample.Disks.Count);
        Assert.Equal("/var/lib/postgresql", _sample.Disks[1].Mountpoint.Value);
        Assert.Equal(2, _sample.NetworkInterfaces.Count);
        Assert.Equal("docker0", _sample.NetworkInterfaces[1].Name.Value);
        Assert.Equal(1843923, _sample.UptimeSeconds);
    }

    [Fact]
    public void TryParse_IntegersWhereFloatsExpected_Accepted()
    {
        var json = """{"cpuUsagePercent": 12, "ramUsagePercent": 100, "ramUsedGB": 4, "uptimeSeconds": 1, "normalizedLoad": {"1m": 1, "5m": 0, "15m": 2}, "diskUsage": [{"mountpoint": "/", "totalGB": 450, "usedGB": 20, "usagePercent": 4}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(12.0, _sample.CpuUsagePercent);
        Assert.Equal(1.0, _sample.Load1m);
        Assert.Equal(450.0, _sample.Disks[0].TotalGb);
    }

    [Fact]
    public void TryParse_OnlyRequiredFields_OptionalOnesNullOrEmpty()
    {
        var json = """{"cpuUsagePercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Null(_sample.Load1m);
        Assert.Null(_sample.Load5m);
        Assert.Null(_sample.Load15m);
        Assert.Null(_sample.DiskReadSpeedMbps);
        Assert.Null(_sample.DiskWriteSpeedMbps);
        Assert.Empty(_sample.Disks);
        Assert.Empty(_sample.NetworkInterfaces);
    }

    [Fact]
    public void TryParse_NullsForOptionalFields_NullOrEmpty()
    {
        var json = """{"cpuUsagePercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "normalizedLoad": {"1m": 0.1, "5m": null}, "diskReadSpeedMBps": null, "diskUsage": null, "networkInterfaces": [{"name": "eth0", "mac": null, "ipv4": "10.0.0.1", "uploadSpeedMbps": 1, "downloadSpeedMbps": 2}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(0.1, _sample.Load1m);
        Assert.Null(_sample.Load5m);
        Assert.Null(_sample.Load15m);
        Assert.Null(_sample.DiskReadSpeedMbps);
        Assert.Empty(_sample.Disks);
        var nic = Assert.Single(_sample.NetworkInterfaces);
        Assert.Equal(string.Empty, nic.Mac.Value);
        Assert.Equal(string.Empty, nic.Ipv6.Value);
        Assert.Equal(0, nic.Ipv6.ByteCount);
    }

    [Fact]
    public void TryParse_NormalizedLoadNull_AllLoadsNull()
    {
        Assert.True(_parser.TryParse(TestFrames.Utf8(Mutate("normalizedLoad", "null")), _sample, out var error), error.ToString());

        Assert.Null(_sample.Load1m);
        Assert.Null(_sample.Load15m);
    }

    [Fact]
    public void TryParse_UnknownFieldsAnywhere_Ignored()
    {
        var json = """{"agentVersion": "1.2", "cpuUsagePercent": 1, "gpu": {"usage": [1, {"x": null}]}, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "normalizedLoad": {"1m": 1, "30m": "x"}, "diskUsage": [{"mountpoint": "/", "inodes": {"used": 1}, "totalGB": 1, "usedGB": 1, "usagePercent": 100}], "networkInterfaces": [{"name": "eth0", "speed": 1000, "uploadSpeedMbps": 1, "downloadSpeedMbps": 1, "flags": ["up"]}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Single(_sample.Disks);
        Assert.Single(_sample.NetworkInterfaces);
    }

    [Theory]
    [InlineData(100.4)]
    [InlineData(105)]
    [InlineData(0)]
    public void TryParse_PercentWithinTolerance_KeptAsSent(double percent)
    {
        var json = Mutate("diskUsage[1].usagePercent", percent.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(percent, _sample.Disks[1].UsagePercent);
    }

    [Fact]
    public void TryParse_NegativeSpeedsFromCounterReset_KeptAsSent()
    {
        var json = Mutate(Mutate("diskReadSpeedMBps", "-3.5"), "networkInterfaces[0].uploadSpeedMbps", "-1");

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(-3.5, _sample.DiskReadSpeedMbps);
        Assert.Equal(-1, _sample.NetworkInterfaces[0].UploadSpeedMbps);
    }

    [Theory]
    // MissingField
    [InlineData("cpuUsagePercent", Remove, ProtocolErrorReason.MissingField, "cpuUsagePercent is required but missing or null")]
    [InlineData("ramUsagePercent", "null", ProtocolErrorReason.MissingField, "ramUsagePercent is required but missing or null")]
    [InlineData("ramUsedGB", Remove, ProtocolErrorReason.MissingField, "ramUsedGB is required but missing or null")]
    [InlineData("uptimeSeconds", Remove, ProtocolErrorReason.MissingField, "uptimeSeconds is required but missing or null")]
    [InlineData("diskUsage[0].mountpoint", Remove, ProtocolErrorReason.MissingField, "diskUsage[0].mountpoint is required but missing or null")]
    [InlineData("diskUsage[1].totalGB", "null", ProtocolErrorReason.MissingField, "diskUsage[1].totalGB is required but missing or null")]
    [InlineData("diskUsage[2].usagePercent", Remove, ProtocolErrorReason.MissingField, "diskUsage[2].usagePercent is required but missing or null")]
    [InlineData("networkInterfaces[1].name", Remove, ProtocolErrorReason.MissingField, "networkInterfaces[1].name is required but missing or null")]
    [InlineData("networkInterfaces[0].downloadSpeedMbps", Remove, ProtocolErrorReason.MissingField, "networkInterfaces[0].downloadSpeedMbps is required but missing or null")]
    // WrongType
    [InlineData("diskUsage[2].totalGB", "\"450\"", ProtocolErrorReason.WrongType, "diskUsage[2].totalGB must be a number, got string")]
    [InlineData("cpuUsagePercent", "\"12.5\"", ProtocolErrorReason.WrongType, "cpuUsagePercent must be a number, got string")]
    [InlineData("ramUsedGB", "true", ProtocolErrorReason.WrongType, "ramUsedGB must be a number, got boolean")]
    [InlineData("uptimeSeconds", "3600.5", ProtocolErrorReason.WrongType, "uptimeSeconds must be an integer, got 3600.5")]
    [InlineData("uptimeSeconds", "\"3600\"", ProtocolErrorReason.WrongType, "uptimeSeconds must be an integer, got string")]
    [InlineData("normalizedLoad", "[0.5]", ProtocolErrorReason.WrongType, "normalizedLoad must be an object, got array")]
    [InlineData("normalizedLoad.5m", "\"0.4\"", ProtocolErrorReason.WrongType, "normalizedLoad.5m must be a number, got string")]
    [InlineData("diskWriteSpeedMBps", "{}", ProtocolErrorReason.WrongType, "diskWriteSpeedMBps must be a number, got object")]
    [InlineData("diskUsage", "{}", ProtocolErrorReason.WrongType, "diskUsage must be an array, got object")]
    [InlineData("networkInterfaces", "\"eth0\"", ProtocolErrorReason.WrongType, "networkInterfaces must be an array, got string")]
    [InlineData("diskUsage[1]", "[]", ProtocolErrorReason.WrongType, "diskUsage[1] must be an object, got array")]
    [InlineData("networkInterfaces[1]", "\"eth1\"", ProtocolErrorReason.WrongType, "networkInterfaces[1] must be an object, got string")]
    [InlineData("diskUsage[0].device", "5", ProtocolErrorReason.WrongType, "diskUsage[0].device must be a string, got number")]
    [InlineData("networkInterfaces[0].ipv6", "[]", ProtocolErrorReason.WrongType, "networkInterfaces[0].ipv6 must be a string, got array")]
    [InlineData("networkInterfaces[1].uploadSpeedMbps", "\"fast\"", ProtocolErrorReason.WrongType, "networkInterfaces[1].uploadSpeedMbps must be a number, got string")]
    // NotFinite
    [InlineData("cpuUsagePercent", "1e400", ProtocolErrorReason.NotFinite, "cpuUsagePercent must be a finite number, got 1e400")]
    [InlineData("diskUsage[1].usedGB", "-1e999", ProtocolErrorReason.NotFinite, "diskUsage[1].usedGB must be a finite number, got -1e999")]
    [InlineData("networkInterfaces[0].downloadSpeedMbps", "2e308", ProtocolErrorReason.NotFinite, "networkInterfaces[0].downloadSpeedMbps must be a finite number, got 2e308")]
    // OutOfRange
    [InlineData("cpuUsagePercent", "105.01", ProtocolErrorReason.OutOfRange, "cpuUsagePercent must be between 0 and 105, got 105.01")]
    [InlineData("ramUsagePercent", "-0.1", ProtocolErrorReason.OutOfRange, "ramUsagePercent must be between 0 and 105, got -0.1")]
    [InlineData("diskUsage[0].usagePercent", "250", ProtocolErrorReason.OutOfRange, "diskUsage[0].usagePercent must be between 0 and 105, got 250")]
    [InlineData("ramUsedGB", "-1", ProtocolErrorReason.OutOfRange, "ramUsedGB must be 0 or more, got -1")]
    [InlineData("diskUsage[2].totalGB", "-3", ProtocolErrorReason.OutOfRange, "diskUsage[2].totalGB must be 0 or more, got -3")]
    [InlineData("normalizedLoad.15m", "-0.2", ProtocolErrorReason.OutOfRange, "normalizedLoad.15m must be 0 or more, got -0.2")]
    [InlineData("uptimeSeconds", "-5", ProtocolErrorReason.OutOfRange, "uptimeSeconds must be 0 or more, got -5")]
    [InlineData("uptimeSeconds", "99999999999999999999", ProtocolErrorReason.OutOfRange, "uptimeSeconds must fit a 64-bit integer, got 99999999999999999999")]
    // StringTooLong
    [InlineData("diskUsage[0].device", "\"" + Device257 + "\"", ProtocolErrorReason.StringTooLong, "diskUsage[0].device must be at most 256 bytes (MaxStringBytes), got 257")]
    public void TryParse_InvalidField_ReasonAndMessageNamingThePath(string path, string rawJson, ProtocolErrorReason reason, string message)
    {
        var json = Mutate(path, rawJson);

        Assert.False(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error));

        Assert.Equal(reason, error.Reason);
        Assert.Equal(message, error.Message);
    }

    private const string Device257 =
        "/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    [Fact]
    public void TryParse_MultiByteStringOverLimit_StringTooLongCountsBytes()
    {
        var json = Mutate("networkInterfaces[0].name", "\"" + new string('é', 129) + "\"");

        Assert.False(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.StringTooLong, error.Reason);
        Assert.Equal("networkInterfaces[0].name must be at most 256 bytes (MaxStringBytes), got 258", error.Message);
    }

    [Fact]
    public void TryParse_EscapedStringOverLimit_StringTooLong()
    {
        var escaped = string.Concat(Enumerable.Repeat("\\u00e9", 200));

        Assert.False(_parser.TryParse(TestFrames.Utf8(Mutate("diskUsage[0].fstype", "\"" + escaped + "\"")), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.StringTooLong, error.Reason);
    }

    [Fact]
    public void TryParse_MoreDisksThanLimit_TooManyItems()
    {
        var parser = new MetricsParser(new MetricsLimits { MaxDisks = 2 });

        Assert.False(parser.TryParse(TestFrames.Utf8(BasePayload), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.TooManyItems, error.Reason);
        Assert.Equal("diskUsage must have at most 2 items (MaxDisks)", error.Message);
    }

    [Fact]
    public void TryParse_MoreInterfacesThanLimit_TooManyItems()
    {
        var parser = new MetricsParser(new MetricsLimits { MaxNetworkInterfaces = 1 });

        Assert.False(parser.TryParse(TestFrames.Utf8(BasePayload), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.TooManyItems, error.Reason);
        Assert.Equal("networkInterfaces must have at most 1 items (MaxNetworkInterfaces)", error.Message);
    }

    [Fact]
    public void TryParse_257DisksWithDefaults_TooManyItems()
    {
        var disk = """{"mountpoint": "/", "totalGB": 1, "usedGB": 1, "usagePercent": 1}""";
        var json = $$"""{"cpuUsagePercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "diskUsage": [{{string.Join(",", Enumerable.Repeat(disk, 257))}}]}""";

        Assert.False(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.TooManyItems, error.Reason);
    }

    [Fact]
    public void TryParse_256DisksWithDefaults_Accepted()
    {
        var disk = """{"mountpoint": "/", "totalGB": 1, "usedGB": 1, "usagePercent": 1}""";
        var json = $$"""{"cpuUsagePercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "diskUsage": [{{string.Join(",", Enumerable.Repeat(disk, 256))}}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(256, _sample.Disks.Count);
    }

    [Theory]
    [InlineData("""{"cpuUsagePercent": 12.5""")]
    [InlineData("""{"cpuUsagePercent": NaN, "ramUsagePercent": 1, "ramUsedGB": 1, "uptimeSeconds": 1}""")]
    [InlineData("""{"cpuUsagePercent": Infinity, "ramUsagePercent": 1, "ramUsedGB": 1, "uptimeSeconds": 1}""")]
    [InlineData("""{"cpuUsagePercent": 1, "ramUsagePercent": 1, "ramUsedGB": 1, "uptimeSeconds": 1}}""")]
    [InlineData("")]
    [InlineData("""{"diskUsage": [{"device": "\ud800", "mountpoint": "/"}]}""")]
    public void TryParse_MalformedJson_MalformedJson(string json)
    {
        Assert.False(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.MalformedJson, error.Reason);
        Assert.StartsWith("metrics payload ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_InvalidUtf8InString_MalformedJson()
    {
        byte[] json = [.. """{"diskUsage": [{"mountpoint": "/mnt/"""u8, 0xFF, 0xFE, .. "\"}]}"u8];

        Assert.False(_parser.TryParse(json, _sample, out var error));

        Assert.Equal(ProtocolErrorReason.MalformedJson, error.Reason);
    }

    [Theory]
    [InlineData("[]", "array")]
    [InlineData("null", "null")]
    [InlineData("42", "number")]
    public void TryParse_PayloadNotAnObject_WrongType(string json, string got)
    {
        Assert.False(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error));

        Assert.Equal(ProtocolErrorReason.WrongType, error.Reason);
        Assert.Equal($"metrics payload must be an object, got {got}", error.Message);
    }

    [Fact]
    public void TryParse_EscapedStringsAndNames_Unescaped()
    {
        var json = """{"cpuUsage\u0050ercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "diskUsage": [{"device": "\/dev\/sda1", "mountpoint": "\/m\u00e9dia \"x\"", "totalGB": 1, "usedGB": 1, "usagePercent": 1}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        Assert.Equal(1, _sample.CpuUsagePercent);
        Assert.Equal("/dev/sda1", _sample.Disks[0].Device.Value);
        Assert.Equal("/média \"x\"", _sample.Disks[0].Mountpoint.Value);
    }

    [Fact]
    public void TryParse_SameStringsAgain_ReusesStringInstances()
    {
        var payload = TestFrames.Utf8(BasePayload);
        Assert.True(_parser.TryParse(payload, _sample, out _));
        var device = _sample.Disks[0].Device.Value;
        var nicName = _sample.NetworkInterfaces[1].Name.Value;

        Assert.True(_parser.TryParse(payload, _sample, out _));

        Assert.Same(device, _sample.Disks[0].Device.Value);
        Assert.Same(nicName, _sample.NetworkInterfaces[1].Name.Value);
    }

    [Fact]
    public void TryParse_ChangedString_NewValue()
    {
        Assert.True(_parser.TryParse(TestFrames.Utf8(BasePayload), _sample, out _));
        _ = _sample.Disks[0].Device.Value;

        Assert.True(_parser.TryParse(TestFrames.Utf8(Mutate("diskUsage[0].device", "\"/dev/sdz9\"")), _sample, out _));

        Assert.Equal("/dev/sdz9", _sample.Disks[0].Device.Value);
    }

    [Fact]
    public void TryParse_FewerItemsAndAbsentOptionalStrings_NoStaleValues()
    {
        Assert.True(_parser.TryParse(TestFrames.Utf8(BasePayload), _sample, out _));
        var json = """{"cpuUsagePercent": 1, "ramUsagePercent": 2, "ramUsedGB": 3, "uptimeSeconds": 4, "diskUsage": [{"mountpoint": "/", "totalGB": 1, "usedGB": 1, "usagePercent": 1}], "networkInterfaces": [{"name": "eth0", "uploadSpeedMbps": 1, "downloadSpeedMbps": 2}]}""";

        Assert.True(_parser.TryParse(TestFrames.Utf8(json), _sample, out var error), error.ToString());

        var disk = Assert.Single(_sample.Disks);
        Assert.Equal(string.Empty, disk.Device.Value);
        Assert.Equal(string.Empty, disk.Fstype.Value);
        var nic = Assert.Single(_sample.NetworkInterfaces);
        Assert.Equal(string.Empty, nic.Mac.Value);
        Assert.Equal(string.Empty, nic.Ipv4.Value);
        Assert.Null(_sample.Load1m);
    }

    [Fact]
    public void TryParse_RealisticFrameSecondTime_AllocatesNothing()
    {
        var frame = TestFrames.Utf8(TestFrames.RealisticMetricsFrame);
        Assert.True(EnvelopeParser.TryParse(frame, out var envelope, out _));
        var payload = envelope.Payload.ToArray();
        Assert.True(_parser.TryParse(payload, _sample, out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            _ = _parser.TryParse(payload, _sample, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Ctor_InvalidLimits_ThrowsListingEveryProblem()
    {
        var limits = new MetricsLimits { MaxDisks = -1, MaxStringBytes = 0, PercentTolerance = double.NaN };

        var ex = Assert.Throws<ArgumentException>(() => new MetricsParser(limits));

        Assert.Contains("MaxDisks", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxStringBytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PercentTolerance", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, limits.Validate().Count);
    }

    /// <summary>The base payload with one field (path like <c>diskUsage[2].totalGB</c>) set to raw JSON, or removed.</summary>
    private static string Mutate(string path, string rawJson) => Mutate(BasePayload, path, rawJson);

    private static string Mutate(string json, string path, string rawJson)
    {
        var root = JsonNode.Parse(json)!;
        var segments = PathSegment().Matches(path).Select(m => m.Value).ToArray();
        var parent = root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            parent = Step(parent, segments[i]);
        }

        var last = segments[^1];
        if (last.StartsWith('['))
        {
            var index = int.Parse(last[1..^1], System.Globalization.CultureInfo.InvariantCulture);
            parent.AsArray()[index] = JsonNode.Parse(rawJson);
            return root.ToJsonString();
        }

        if (rawJson == Remove)
        {
            parent.AsObject().Remove(last);
            return root.ToJsonString();
        }

        // Raw text so values a JsonNode cannot hold (1e400, NaN-like, huge integers) reach the parser verbatim.
        const string Marker = "__RAW_VALUE__";
        parent.AsObject()[last] = Marker;
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })
            .Replace("\"" + Marker + "\"", rawJson, StringComparison.Ordinal);
    }

    private static JsonNode Step(JsonNode node, string segment) => segment.StartsWith('[')
        ? node.AsArray()[int.Parse(segment[1..^1], System.Globalization.CultureInfo.InvariantCulture)]!
        : node.AsObject()[segment]!;

    [GeneratedRegex(@"[^.\[\]]+|\[\d+\]")]
    private static partial Regex PathSegment();
}
