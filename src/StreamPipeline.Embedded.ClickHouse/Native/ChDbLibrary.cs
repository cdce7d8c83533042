using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace StreamPipeline.Embedded.ClickHouse.Native;

/// <summary>
/// Finds, verifies and loads libchdb.so once per process. Search order: <see cref="EmbeddedClickHouseOptions.LibraryPath"/>,
/// the <c>STREAMPIPELINE_CHDB_LIBRARY</c> environment variable, then the cache that <c>build/fetch-chdb.sh</c> fills.
/// </summary>
internal static partial class ChDbLibrary
{
    public const string Version = "26.7.3-stable.1";
    public const string Sha256 = "36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5";
    public const string EnvironmentVariable = "STREAMPIPELINE_CHDB_LIBRARY";
    private const string FixHint = "Run `make chdb` or `build/fetch-chdb.sh` to download and verify it";

    private static readonly Lock Gate = new();
    private static nint loadedHandle;
    private static string? loadedPath;

    /// <summary>The path the library was loaded from, once <see cref="EnsureLoaded"/> succeeded.</summary>
    public static string? LoadedPath => loadedPath;

    /// <summary>Default cache location, the same as <c>build/fetch-chdb.sh</c>.</summary>
    public static string CachePath
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("STREAMPIPELINE_CACHE");
            if (string.IsNullOrEmpty(root))
            {
                root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "streampipeline");
            }

            return Path.Combine(root, "chdb", Version, "libchdb.so");
        }
    }

    /// <summary>Resolves, verifies and loads the library; later calls return the first load (chDB is process-global).</summary>
    public static string EnsureLoaded(string? optionPath)
    {
        lock (Gate)
        {
            if (loadedPath is not null)
            {
                return loadedPath;
            }

            var path = Resolve(optionPath);
            Verify(path);
            loadedHandle = NativeLibrary.Load(path);
            loadedPath = path;
            NativeLibrary.SetDllImportResolver(typeof(ChDbLibrary).Assembly, ResolveImport);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => ExitSkippingNativeDestructors();
            return path;
        }
    }

    /// <summary>
    /// Ends a process that loaded chDB without running C++ static destructors. chDB's global context and background
    /// schedule pools (threads "BgSchPool", "BgMBSchPool") outlive every connection; at <c>exit()</c> libc runs chDB's
    /// static destructors on the main thread while those pool threads still run tasks, and a pool thread dereferences
    /// what was just destroyed: SIGSEGV, exit code 139, after the program had finished (seen in <c>make run</c> and every
    /// harness; gdb: main thread in <c>__run_exit_handlers</c> inside libchdb, the faulting thread a BgSchPool). chDB has no
    /// call that stops those pools, so once managed shutdown is over (<see cref="AppDomain.ProcessExit"/> runs after
    /// <c>Main</c> returned or <see cref="Environment.Exit"/> was called, with <see cref="Environment.ExitCode"/> set) the
    /// process leaves through <c>_exit</c> with the same code. Data is safe: every insert is committed before its call
    /// returns and the engine is closed by its owner's dispose before this runs.
    /// </summary>
    private static void ExitSkippingNativeDestructors()
    {
        Console.Out.Flush();
        Console.Error.Flush();
        ExitImmediately(Environment.ExitCode);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitImmediately(int status);

    private static nint ResolveImport(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == ChDbNative.LibraryName ? loadedHandle : 0;

    internal static string Resolve(string? optionPath)
    {
        if (!string.IsNullOrWhiteSpace(optionPath))
        {
            return File.Exists(optionPath)
                ? Path.GetFullPath(optionPath)
                : throw new EmbeddedClickHouseException(
                    $"chDB library not found at '{optionPath}' (EmbeddedClickHouseOptions.LibraryPath). {FixHint}, or point LibraryPath at an existing libchdb.so {Version}.");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return File.Exists(fromEnvironment)
                ? Path.GetFullPath(fromEnvironment)
                : throw new EmbeddedClickHouseException(
                    $"chDB library not found at '{fromEnvironment}' (environment variable {EnvironmentVariable}). {FixHint}, or unset {EnvironmentVariable}.");
        }

        var cached = CachePath;
        return File.Exists(cached)
            ? cached
            : throw new EmbeddedClickHouseException(
                $"chDB library not found at '{cached}' (nor set through EmbeddedClickHouseOptions.LibraryPath or {EnvironmentVariable}). {FixHint}.");
    }

    /// <summary>Checks the sha256 once and leaves a <c>.verified</c> marker beside the file, as fetch-chdb.sh does.</summary>
    internal static void Verify(string path)
    {
        var marker = Path.Combine(Path.GetDirectoryName(path)!, ".verified");
        if (File.Exists(marker) && File.GetLastWriteTimeUtc(marker) >= File.GetLastWriteTimeUtc(path))
        {
            return;
        }

        string actual;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        if (!string.Equals(actual, Sha256, StringComparison.Ordinal))
        {
            throw new EmbeddedClickHouseException(
                $"chDB library at '{path}' has sha256 {actual}, expected {Sha256} (chDB {Version}). Delete it and {char.ToLowerInvariant(FixHint[0])}{FixHint[1..]}.");
        }

        try
        {
            File.WriteAllBytes(marker, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only cache is fine: we verify again next start.
        }
    }
}
