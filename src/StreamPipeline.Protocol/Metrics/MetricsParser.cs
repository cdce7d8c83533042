using System.Globalization;
using System.Text.Json;

namespace StreamPipeline.Protocol;

/// <summary>
/// Parses and validates a <c>metrics</c> payload into a reused <see cref="MetricsSample"/>: one pass of a
/// <see cref="Utf8JsonReader"/>, no allocation in the steady state (strings that did not change since the previous
/// sample are not copied), errors returned as values naming the field path, e.g.
/// <c>diskUsage[2].totalGB must be a number, got string</c>. One instance per connection: not thread-safe.
/// </summary>
/// <remarks>
/// What is accepted (lenient, so a legitimate agent is never refused, see schemas/avro/README.md):
/// unknown fields are ignored; JSON integers are accepted where floats are expected; <c>normalizedLoad</c>, the disk
/// speeds, <c>diskUsage</c> and <c>networkInterfaces</c> may be absent or null; in list items only
/// <c>mountpoint</c>/<c>name</c> and the numbers are required. What is refused: wrong JSON types, numbers that are not
/// finite doubles, percentages outside 0..100+<see cref="MetricsLimits.PercentTolerance"/>, negative sizes, loads and
/// uptime, and lists or strings over <see cref="MetricsLimits"/>. Disk and network speeds may be negative (agents derive
/// them from counter deltas, which go backwards when a counter resets) and are kept as sent.
/// </remarks>
public sealed class MetricsParser
{
    private readonly MetricsLimits _limits;
    private readonly double _maxPercent;
    private readonly byte[] _scratch;
    private readonly ItemParser<DiskSample> _parseDisk;
    private readonly ItemParser<NetworkInterfaceSample> _parseInterface;

    /// <summary>Creates a parser with the given limits (<see cref="MetricsLimits.Default"/> when null).</summary>
    /// <exception cref="ArgumentException">The limits are invalid; the message lists every problem.</exception>
    public MetricsParser(MetricsLimits? limits = null)
    {
        _limits = limits ?? MetricsLimits.Default;
        var problems = _limits.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid metrics limits: " + string.Join(" ", problems), nameof(limits));
        }

        _maxPercent = 100 + _limits.PercentTolerance;

        // A JSON escape decodes to at most as many bytes as it takes, so this holds any acceptable escaped string.
        _scratch = new byte[Math.Max(256, _limits.MaxStringBytes * 6)];

        // Created once: the hot path must not allocate a delegate per frame.
        _parseDisk = TryParseDisk;
        _parseInterface = TryParseInterface;
    }

    /// <summary>The limits in force.</summary>
    public MetricsLimits Limits => _limits;

    private enum NumberRule
    {
        Any,
        NonNegative,
        Percent,
    }

    /// <summary>The envelope action of a metrics event.</summary>
    public static ReadOnlySpan<byte> Action => "metrics"u8;

    /// <summary>
    /// The hot path: parses a whole frame, and when it is a <c>metrics</c> event, its payload into
    /// <paramref name="sample"/> in the same pass (agents write type and action before the payload; other orders cost a
    /// second pass over the payload, same result). Other frames are parsed as by <see cref="EnvelopeParser.TryParse(ReadOnlySpan{byte}, out Envelope, out ProtocolError)"/>
    /// and leave the sample untouched; <paramref name="isMetrics"/> tells which happened (also on failure, when the frame
    /// was known to be a metrics event). Errors in the payload name the field path, as with <see cref="TryParse"/>;
    /// a metrics event without a payload is <see cref="ProtocolErrorReason.MissingField"/>.
    /// </summary>
    public bool TryParseFrame(ReadOnlySpan<byte> frame, MetricsSample sample, out Envelope envelope, out bool isMetrics, out ProtocolError error)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var parsed = EnvelopeParser.TryParse(frame, this, sample, out envelope, out isMetrics, out error);
        if (!parsed || isMetrics)
        {
            return parsed;
        }

        if (envelope.Type != EnvelopeType.Event || !envelope.ActionIs(Action))
        {
            return true;
        }

        isMetrics = true;
        if (envelope.PayloadKind == JsonTokenType.None)
        {
            error = new ProtocolError(ProtocolErrorReason.MissingField, "metrics payload is required but missing");
            return false;
        }

        return TryParse(envelope.Payload, sample, out error);
    }

    /// <summary>
    /// Parses <paramref name="payloadJson"/> (the envelope's payload) into <paramref name="sample"/>'s measurements.
    /// Identity and times are left to the caller. On failure the sample's measurements are unspecified.
    /// </summary>
    public bool TryParse(ReadOnlySpan<byte> payloadJson, MetricsSample sample, out ProtocolError error)
    {
        ArgumentNullException.ThrowIfNull(sample);
        try
        {
            var reader = new Utf8JsonReader(payloadJson, isFinalBlock: true, state: default);
            reader.Read();
            if (!TryParsePayload(ref reader, sample, out error))
            {
                return false;
            }

            // Anything but whitespace after the payload makes Read throw (caught below).
            reader.Read();
            return true;
        }
        catch (JsonException ex)
        {
            error = new ProtocolError(
                ProtocolErrorReason.MalformedJson,
                $"metrics payload is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // CopyString on an escape sequence that does not decode to valid Unicode (e.g. a lone surrogate).
            error = new ProtocolError(ProtocolErrorReason.MalformedJson, $"metrics payload holds an invalid string: {ex.Message}");
            return false;
        }
    }

    /// <summary>Parses the payload value the reader is on, leaving the reader on its last token.</summary>
    internal bool TryParsePayload(ref Utf8JsonReader reader, MetricsSample sample, out ProtocolError error)
    {
        sample.ClearMeasurements();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = new ProtocolError(ProtocolErrorReason.WrongType, $"metrics payload must be an object, got {JsonTokenNames.Describe(reader.TokenType)}");
            return false;
        }

        return TryParseRoot(ref reader, sample, out error);
    }

    private bool TryParseRoot(ref Utf8JsonReader reader, MetricsSample sample, out ProtocolError error)
    {
        const int Cpu = 1, RamPercent = 2, RamGb = 4, Uptime = 8;
        var seen = 0;
        error = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            bool ok;
            if (name.SequenceEqual("cpuUsagePercent"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("cpuUsagePercent"), NumberRule.Percent, out var value, out error);
                sample.CpuUsagePercent = value;
                seen |= Cpu;
            }
            else if (name.SequenceEqual("ramUsagePercent"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("ramUsagePercent"), NumberRule.Percent, out var value, out error);
                sample.RamUsagePercent = value;
                seen |= RamPercent;
            }
            else if (name.SequenceEqual("ramUsedGB"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("ramUsedGB"), NumberRule.NonNegative, out var value, out error);
                sample.RamUsedGb = value;
                seen |= RamGb;
            }
            else if (name.SequenceEqual("uptimeSeconds"u8))
            {
                ok = TryReadUptime(ref reader, out var value, out error);
                sample.UptimeSeconds = value;
                seen |= Uptime;
            }
            else if (name.SequenceEqual("normalizedLoad"u8))
            {
                ok = TryParseLoad(ref reader, sample, out error);
            }
            else if (name.SequenceEqual("diskReadSpeedMBps"u8))
            {
                ok = TryReadOptional(ref reader, new FieldPath("diskReadSpeedMBps"), NumberRule.Any, out var value, out error);
                sample.DiskReadSpeedMbps = value;
            }
            else if (name.SequenceEqual("diskWriteSpeedMBps"u8))
            {
                ok = TryReadOptional(ref reader, new FieldPath("diskWriteSpeedMBps"), NumberRule.Any, out var value, out error);
                sample.DiskWriteSpeedMbps = value;
            }
            else if (name.SequenceEqual("diskUsage"u8))
            {
                ok = TryParseList(ref reader, sample.Disks, "diskUsage", _limits.MaxDisks, nameof(MetricsLimits.MaxDisks), _parseDisk, out error);
            }
            else if (name.SequenceEqual("networkInterfaces"u8))
            {
                ok = TryParseList(ref reader, sample.NetworkInterfaces, "networkInterfaces", _limits.MaxNetworkInterfaces, nameof(MetricsLimits.MaxNetworkInterfaces), _parseInterface, out error);
            }
            else
            {
                reader.Skip();
                ok = true;
            }

            if (!ok)
            {
                return false;
            }
        }

        var missing = (seen & Cpu) == 0 ? "cpuUsagePercent"
            : (seen & RamPercent) == 0 ? "ramUsagePercent"
            : (seen & RamGb) == 0 ? "ramUsedGB"
            : (seen & Uptime) == 0 ? "uptimeSeconds"
            : null;
        return missing is null || Missing(new FieldPath(missing), out error);
    }

    private bool TryParseLoad(ref Utf8JsonReader reader, MetricsSample sample, out ProtocolError error)
    {
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return WrongType(new FieldPath("normalizedLoad"), "an object", reader.TokenType, out error);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            bool ok;
            if (name.SequenceEqual("1m"u8))
            {
                ok = TryReadOptional(ref reader, new FieldPath("normalizedLoad.1m"), NumberRule.NonNegative, out var value, out error);
                sample.Load1m = value;
            }
            else if (name.SequenceEqual("5m"u8))
            {
                ok = TryReadOptional(ref reader, new FieldPath("normalizedLoad.5m"), NumberRule.NonNegative, out var value, out error);
                sample.Load5m = value;
            }
            else if (name.SequenceEqual("15m"u8))
            {
                ok = TryReadOptional(ref reader, new FieldPath("normalizedLoad.15m"), NumberRule.NonNegative, out var value, out error);
                sample.Load15m = value;
            }
            else
            {
                reader.Skip();
                ok = true;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private delegate bool ItemParser<in T>(ref Utf8JsonReader reader, T item, int index, out ProtocolError error);

    /// <summary>A list of objects (disks, interfaces): null is empty, at most <paramref name="max"/> items, each parsed into a reused item.</summary>
    private static bool TryParseList<T>(ref Utf8JsonReader reader, ReusableList<T> items, string field, int max, string limitName, ItemParser<T> parseItem, out ProtocolError error)
        where T : class, new()
    {
        items.Clear();
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return WrongType(new FieldPath(field), "an array", reader.TokenType, out error);
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var index = items.Count;
            if (index == max)
            {
                return TooMany(field, max, limitName, out error);
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return WrongType(new FieldPath(field, index), "an object", reader.TokenType, out error);
            }

            if (!parseItem(ref reader, items.Add(), index, out error))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryParseDisk(ref Utf8JsonReader reader, DiskSample disk, int index, out ProtocolError error)
    {
        const int Device = 1, Mountpoint = 2, Fstype = 4, Total = 8, Used = 16, Usage = 32;
        var seen = 0;
        error = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            bool ok;
            if (name.SequenceEqual("device"u8))
            {
                ok = TryReadOptionalString(ref reader, new FieldPath("device", "diskUsage", index), disk.Device, out error);
                seen |= Device;
            }
            else if (name.SequenceEqual("mountpoint"u8))
            {
                ok = TryReadRequiredString(ref reader, new FieldPath("mountpoint", "diskUsage", index), disk.Mountpoint, out error);
                seen |= Mountpoint;
            }
            else if (name.SequenceEqual("fstype"u8))
            {
                ok = TryReadOptionalString(ref reader, new FieldPath("fstype", "diskUsage", index), disk.Fstype, out error);
                seen |= Fstype;
            }
            else if (name.SequenceEqual("totalGB"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("totalGB", "diskUsage", index), NumberRule.NonNegative, out var value, out error);
                disk.TotalGb = value;
                seen |= Total;
            }
            else if (name.SequenceEqual("usedGB"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("usedGB", "diskUsage", index), NumberRule.NonNegative, out var value, out error);
                disk.UsedGb = value;
                seen |= Used;
            }
            else if (name.SequenceEqual("usagePercent"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("usagePercent", "diskUsage", index), NumberRule.Percent, out var value, out error);
                disk.UsagePercent = value;
                seen |= Usage;
            }
            else
            {
                reader.Skip();
                ok = true;
            }

            if (!ok)
            {
                return false;
            }
        }

        // Cleared only when absent, so an unchanged value keeps its cached bytes and string.
        if ((seen & Device) == 0)
        {
            disk.Device.Clear();
        }

        if ((seen & Fstype) == 0)
        {
            disk.Fstype.Clear();
        }

        var missing = (seen & Mountpoint) == 0 ? "mountpoint"
            : (seen & Total) == 0 ? "totalGB"
            : (seen & Used) == 0 ? "usedGB"
            : (seen & Usage) == 0 ? "usagePercent"
            : null;
        return missing is null || Missing(new FieldPath(missing, "diskUsage", index), out error);
    }

    private bool TryParseInterface(ref Utf8JsonReader reader, NetworkInterfaceSample nic, int index, out ProtocolError error)
    {
        const int Name = 1, Mac = 2, Ipv4 = 4, Ipv6 = 8, Upload = 16, Download = 32;
        var seen = 0;
        error = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            bool ok;
            if (name.SequenceEqual("name"u8))
            {
                ok = TryReadRequiredString(ref reader, new FieldPath("name", "networkInterfaces", index), nic.Name, out error);
                seen |= Name;
            }
            else if (name.SequenceEqual("mac"u8))
            {
                ok = TryReadOptionalString(ref reader, new FieldPath("mac", "networkInterfaces", index), nic.Mac, out error);
                seen |= Mac;
            }
            else if (name.SequenceEqual("ipv4"u8))
            {
                ok = TryReadOptionalString(ref reader, new FieldPath("ipv4", "networkInterfaces", index), nic.Ipv4, out error);
                seen |= Ipv4;
            }
            else if (name.SequenceEqual("ipv6"u8))
            {
                ok = TryReadOptionalString(ref reader, new FieldPath("ipv6", "networkInterfaces", index), nic.Ipv6, out error);
                seen |= Ipv6;
            }
            else if (name.SequenceEqual("uploadSpeedMbps"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("uploadSpeedMbps", "networkInterfaces", index), NumberRule.Any, out var value, out error);
                nic.UploadSpeedMbps = value;
                seen |= Upload;
            }
            else if (name.SequenceEqual("downloadSpeedMbps"u8))
            {
                ok = TryReadRequired(ref reader, new FieldPath("downloadSpeedMbps", "networkInterfaces", index), NumberRule.Any, out var value, out error);
                nic.DownloadSpeedMbps = value;
                seen |= Download;
            }
            else
            {
                reader.Skip();
                ok = true;
            }

            if (!ok)
            {
                return false;
            }
        }

        if ((seen & Mac) == 0)
        {
            nic.Mac.Clear();
        }

        if ((seen & Ipv4) == 0)
        {
            nic.Ipv4.Clear();
        }

        if ((seen & Ipv6) == 0)
        {
            nic.Ipv6.Clear();
        }

        var missing = (seen & Name) == 0 ? "name"
            : (seen & Upload) == 0 ? "uploadSpeedMbps"
            : (seen & Download) == 0 ? "downloadSpeedMbps"
            : null;
        return missing is null || Missing(new FieldPath(missing, "networkInterfaces", index), out error);
    }

    /// <summary>The current property name, unescaped if needed (into the scratch buffer, valid until the next string read).</summary>
    private ReadOnlySpan<byte> PropertyName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        // Longer than any name we know even after unescaping: leave it unmatched (ignored as unknown).
        return reader.ValueSpan.Length <= _scratch.Length ? _scratch.AsSpan(0, reader.CopyString(_scratch)) : default;
    }

    private bool TryReadRequired(ref Utf8JsonReader reader, in FieldPath path, NumberRule rule, out double value, out ProtocolError error)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            value = 0;
            return Missing(path, out error);
        }

        return TryReadNumber(ref reader, path, rule, out value, out error);
    }

    private bool TryReadOptional(ref Utf8JsonReader reader, in FieldPath path, NumberRule rule, out double? value, out ProtocolError error)
    {
        value = null;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (!TryReadNumber(ref reader, path, rule, out var number, out error))
        {
            return false;
        }

        value = number;
        return true;
    }

    private bool TryReadNumber(ref Utf8JsonReader reader, in FieldPath path, NumberRule rule, out double value, out ProtocolError error)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number)
        {
            return WrongType(path, "a number", reader.TokenType, out error);
        }

        if (!reader.TryGetDouble(out value) || !double.IsFinite(value))
        {
            error = new ProtocolError(ProtocolErrorReason.NotFinite, $"{path} must be a finite number, got {Echo(ref reader)}");
            return false;
        }

        switch (rule)
        {
            case NumberRule.Percent when value < 0 || value > _maxPercent:
                error = new ProtocolError(ProtocolErrorReason.OutOfRange, $"{path} must be between 0 and {Format(_maxPercent)}, got {Format(value)}");
                return false;
            case NumberRule.NonNegative when value < 0:
                error = new ProtocolError(ProtocolErrorReason.OutOfRange, $"{path} must be 0 or more, got {Format(value)}");
                return false;
            default:
                error = default;
                return true;
        }
    }

    private static bool TryReadUptime(ref Utf8JsonReader reader, out long value, out ProtocolError error)
    {
        value = 0;
        var path = new FieldPath("uptimeSeconds");
        if (reader.TokenType == JsonTokenType.Null)
        {
            return Missing(path, out error);
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return WrongType(path, "an integer", reader.TokenType, out error);
        }

        if (!reader.TryGetInt64(out value))
        {
            error = JsonNumbers.IsIntegerLiteral(reader.ValueSpan)
                ? new ProtocolError(ProtocolErrorReason.OutOfRange, $"{path} must fit a 64-bit integer, got {Echo(ref reader)}")
                : new ProtocolError(ProtocolErrorReason.WrongType, $"{path} must be an integer, got {Echo(ref reader)}");
            return false;
        }

        if (value < 0)
        {
            error = new ProtocolError(ProtocolErrorReason.OutOfRange, $"{path} must be 0 or more, got {value}");
            return false;
        }

        error = default;
        return true;
    }

    private bool TryReadRequiredString(ref Utf8JsonReader reader, in FieldPath path, Utf8Text target, out ProtocolError error)
        => reader.TokenType == JsonTokenType.Null ? Missing(path, out error) : TryReadString(ref reader, path, target, out error);

    private bool TryReadOptionalString(ref Utf8JsonReader reader, in FieldPath path, Utf8Text target, out ProtocolError error)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            target.Clear();
            error = default;
            return true;
        }

        return TryReadString(ref reader, path, target, out error);
    }

    private bool TryReadString(ref Utf8JsonReader reader, in FieldPath path, Utf8Text target, out ProtocolError error)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return WrongType(path, "a string", reader.TokenType, out error);
        }

        var value = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            if (value.Length > _scratch.Length)
            {
                return TooLong(path, value.Length, out error);
            }

            value = _scratch.AsSpan(0, reader.CopyString(_scratch));
        }

        if (value.Length > _limits.MaxStringBytes)
        {
            return TooLong(path, value.Length, out error);
        }

        if (!target.TrySet(value))
        {
            error = new ProtocolError(ProtocolErrorReason.MalformedJson, $"{path} is not valid UTF-8");
            return false;
        }

        error = default;
        return true;
    }

    private bool TooLong(in FieldPath path, int length, out ProtocolError error)
    {
        error = new ProtocolError(
            ProtocolErrorReason.StringTooLong,
            $"{path} must be at most {_limits.MaxStringBytes} bytes (MaxStringBytes), got {length}");
        return false;
    }

    private static bool TooMany(string list, int limit, string setting, out ProtocolError error)
    {
        error = new ProtocolError(ProtocolErrorReason.TooManyItems, $"{list} must have at most {limit} items ({setting})");
        return false;
    }

    private static bool Missing(in FieldPath path, out ProtocolError error)
    {
        error = new ProtocolError(ProtocolErrorReason.MissingField, $"{path} is required but missing or null");
        return false;
    }

    private static bool WrongType(in FieldPath path, string expected, JsonTokenType got, out ProtocolError error)
    {
        error = new ProtocolError(ProtocolErrorReason.WrongType, $"{path} must be {expected}, got {JsonTokenNames.Describe(got)}");
        return false;
    }

    private static string Echo(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        return System.Text.Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 40)]) + (raw.Length > 40 ? "..." : string.Empty);
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A field path such as <c>diskUsage[2].totalGB</c>, formatted only when an error needs it.</summary>
    private readonly struct FieldPath
    {
        private readonly string _field;
        private readonly string? _list;
        private readonly int _index;

        public FieldPath(string field) => _field = field;

        public FieldPath(string list, int index)
            : this(string.Empty, list, index)
        {
        }

        public FieldPath(string field, string list, int index)
        {
            _field = field;
            _list = list;
            _index = index;
        }

        public override string ToString() => _list is null ? _field
            : _field.Length == 0 ? $"{_list}[{_index}]"
            : $"{_list}[{_index}].{_field}";
    }
}
