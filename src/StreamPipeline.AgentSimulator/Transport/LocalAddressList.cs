using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace StreamPipeline.AgentSimulator.Transport;

/// <summary>Parses <see cref="SimulatorOptions.LocalAddresses"/>: addresses, or IPv4 ranges written <c>a..b</c> or <c>a-b</c>.</summary>
internal static class LocalAddressList
{
    private const int MaxAddresses = 4096;

    public static bool TryParse(IEnumerable<string>? entries, out IReadOnlyList<IPAddress> addresses, [NotNullWhen(false)] out string? error)
    {
        var list = new List<IPAddress>();
        addresses = list;
        error = null;
        if (entries is null)
        {
            return true;
        }

        foreach (var raw in entries)
        {
            foreach (var part in (raw ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!TryParseEntry(part, list, out error))
                {
                    return false;
                }
            }
        }

        if (list.Count > MaxAddresses)
        {
            error = $"at most {MaxAddresses} addresses; got {list.Count}.";
            return false;
        }

        return true;
    }

    private static bool TryParseEntry(string entry, List<IPAddress> into, [NotNullWhen(false)] out string? error)
    {
        error = null;
        var separator = entry.Contains("..", StringComparison.Ordinal) ? ".." : entry.Contains('-', StringComparison.Ordinal) ? "-" : null;
        if (separator is null)
        {
            if (!IPAddress.TryParse(entry, out var single))
            {
                error = $"'{entry}' is not an IP address; write e.g. 127.0.0.2 or 127.0.0.1..127.0.0.20.";
                return false;
            }

            into.Add(single);
            return true;
        }

        var bounds = entry.Split(separator, 2, StringSplitOptions.TrimEntries);
        if (!IPAddress.TryParse(bounds[0], out var first) || !IPAddress.TryParse(bounds[1], out var last)
            || first.AddressFamily != AddressFamily.InterNetwork || last.AddressFamily != AddressFamily.InterNetwork)
        {
            error = $"'{entry}' is not an IPv4 range; write e.g. 127.0.0.1..127.0.0.20.";
            return false;
        }

        var from = ToUInt32(first);
        var to = ToUInt32(last);
        if (to < from || to - from >= MaxAddresses)
        {
            error = $"'{entry}' must go upwards and hold at most {MaxAddresses} addresses.";
            return false;
        }

        for (var value = from; value <= to; value++)
        {
            into.Add(FromUInt32(value));
            if (value == uint.MaxValue)
            {
                break;
            }
        }

        return true;
    }

    private static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    private static IPAddress FromUInt32(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
