using System.Runtime.InteropServices;
using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>One successful chDB result: its bytes stay in native memory until disposed and are copied out in slices.</summary>
internal sealed unsafe class ChDbResult : IDisposable
{
    private readonly ChDbResultHandle handle;
    private readonly byte* buffer;

    private ChDbResult(ChDbResultHandle handle, byte* buffer, int length, QueryStats stats)
    {
        this.handle = handle;
        this.buffer = buffer;
        Length = length;
        Stats = stats;
    }

    public int Length { get; }

    public QueryStats Stats { get; }

    /// <summary>The bytes; valid until <see cref="Dispose"/>. Never hold the span across an await.</summary>
    public ReadOnlySpan<byte> Span => Length == 0 ? default : new ReadOnlySpan<byte>(buffer, Length);

    /// <summary>Takes ownership of a raw result: returns either the result or its error (and then frees it).</summary>
    public static ChDbError? From(nint raw, out ChDbResult? result)
    {
        result = null;
        if (raw == 0)
        {
            return ErrorCodes.Create(ErrorCodes.StdException, "chDB returned no result (the engine may have been shut down in this process)");
        }

        var owned = new ChDbResultHandle(raw);
        var error = ChDbNative.chdb_result_error(raw);
        if (error != 0)
        {
            var text = Marshal.PtrToStringUTF8(error) ?? "unknown chDB error";
            owned.Dispose();
            return ChDbError.Parse(text);
        }

        var length = ChDbNative.chdb_result_length(raw);
        if (length > int.MaxValue)
        {
            owned.Dispose();
            return ErrorCodes.Create(ErrorCodes.StdException, "chDB returned a result block over 2 GiB; use a streaming SELECT or a smaller LIMIT");
        }

        var stats = new QueryStats(
            ChDbNative.chdb_result_rows_read(raw),
            ChDbNative.chdb_result_bytes_read(raw),
            ChDbNative.chdb_result_rows_written(raw),
            ChDbNative.chdb_result_bytes_written(raw),
            ChDbNative.chdb_result_elapsed(raw));
        result = new ChDbResult(owned, ChDbNative.chdb_result_buffer(raw), (int)length, stats);
        return null;
    }

    public void Dispose() => handle.Dispose();
}
