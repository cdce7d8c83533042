using System.Runtime.InteropServices;
using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>
/// ClickHouse holds <c>flock(status, LOCK_EX)</c> on its data directory while running. chDB only prints its
/// "Cannot lock file" error to stderr and returns NULL, so we probe the same lock to say why the start failed.
/// </summary>
internal static class DataPathLock
{
    private const int ReadOnly = 0;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int Unlock = 8;

    /// <summary>True when another process holds the ClickHouse lock on <paramref name="dataPath"/>.</summary>
    public static bool IsLockedByAnotherProcess(string dataPath)
    {
        var status = Path.Combine(dataPath, "status");
        if (!File.Exists(status))
        {
            return false;
        }

        var fd = ChDbNative.open(status, ReadOnly);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            if (ChDbNative.flock(fd, LockExclusive | LockNonBlocking) != 0)
            {
                return Marshal.GetLastPInvokeError() is 11; // EWOULDBLOCK
            }

            _ = ChDbNative.flock(fd, Unlock);
            return false;
        }
        finally
        {
            _ = ChDbNative.close(fd);
        }
    }

    public static EmbeddedClickHouseException LockedError(string dataPath) => new(
        $"DataPath '{dataPath}' is locked by another process (Cannot lock file {Path.Combine(dataPath, "status")}). " +
        "Use another DataPath (EmbeddedClickHouseOptions.DataPath) or stop the other process.");
}
