using System.Runtime.InteropServices;

namespace StreamPipeline.Embedded.ClickHouse.Native;

/// <summary>
/// The chDB 26.7 C API (<c>chdb.h</c>). <c>chdb_connect</c> returns a pointer to a connection handle; every
/// query function takes the handle itself (the pointer dereferenced), which <see cref="ChDbConnectionHandle"/> does.
/// </summary>
internal static unsafe partial class ChDbNative
{
    /// <summary>The name every import uses; <see cref="ChDbLibrary"/> resolves it to the verified libchdb.so.</summary>
    public const string LibraryName = "chdb";

    [LibraryImport(LibraryName)]
    public static partial void chdb_set_signal_handlers_enabled(int enabled);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_version();

    [LibraryImport(LibraryName)]
    public static partial nint chdb_connect(int argc, byte** argv);

    [LibraryImport(LibraryName)]
    public static partial void chdb_close_conn(nint connection);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_query_n(nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_query_with_params_n(
        nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength,
        byte** names, nuint* nameLengths, byte** values, nuint* valueLengths, nuint count);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_query_n(nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_query_with_params_n(
        nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength,
        byte** names, nuint* nameLengths, byte** values, nuint* valueLengths, nuint count);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_fetch_result(nint conn, nint result);

    [LibraryImport(LibraryName)]
    public static partial void chdb_stream_cancel_query(nint conn, nint result);

    [LibraryImport(LibraryName)]
    public static partial void chdb_destroy_query_result(nint result);

    [LibraryImport(LibraryName)]
    public static partial byte* chdb_result_buffer(nint result);

    [LibraryImport(LibraryName)]
    public static partial nuint chdb_result_length(nint result);

    [LibraryImport(LibraryName)]
    public static partial double chdb_result_elapsed(nint result);

    [LibraryImport(LibraryName)]
    public static partial ulong chdb_result_rows_read(nint result);

    [LibraryImport(LibraryName)]
    public static partial ulong chdb_result_bytes_read(nint result);

    [LibraryImport(LibraryName)]
    public static partial ulong chdb_result_rows_written(nint result);

    [LibraryImport(LibraryName)]
    public static partial ulong chdb_result_bytes_written(nint result);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_result_error(nint result);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_insert_n(nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_insert_with_params_n(
        nint conn, byte* query, nuint queryLength, byte* format, nuint formatLength,
        byte** names, nuint* nameLengths, byte** values, nuint* valueLengths, nuint count);

    /// <summary>Returns 0 on success; non-zero once the stream has failed (read <c>chdb_stream_insert_error</c>).</summary>
    [LibraryImport(LibraryName)]
    public static partial int chdb_stream_append(nint stream, byte* data, nuint length);

    /// <summary>Commits the insert and returns a result (destroy it, then the stream).</summary>
    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_done(nint stream);

    [LibraryImport(LibraryName)]
    public static partial nint chdb_stream_insert_error(nint stream);

    /// <summary>Abandons an insert without committing what was appended.</summary>
    [LibraryImport(LibraryName)]
    public static partial void chdb_stream_cancel_insert(nint stream);

    [LibraryImport(LibraryName)]
    public static partial void chdb_destroy_insert_stream(nint stream);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);
}
