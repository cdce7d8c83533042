using System.Runtime.InteropServices;
using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>
/// A streaming insert: <see cref="Append"/> chunks (they need not align to rows), then <see cref="Complete"/> to commit.
/// Disposing without completing cancels it, so nothing of a failed request is committed.
/// </summary>
internal sealed unsafe class ChDbInsert : IDisposable
{
    private readonly ChDbInsertStreamHandle stream;
    private bool completed;

    public ChDbInsert(ChDbInsertStreamHandle stream) => this.stream = stream;

    public ChDbError? Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }

        var added = false;
        stream.DangerousAddRef(ref added);
        try
        {
            var raw = stream.DangerousGetHandle();
            int rc;
            fixed (byte* p = data)
            {
                rc = ChDbNative.chdb_stream_append(raw, p, (nuint)data.Length);
            }

            return rc == 0 ? null : ReadError(raw) ?? ErrorCodes.Create(ErrorCodes.StdException, "chDB refused the insert data without an error message");
        }
        finally
        {
            if (added)
            {
                stream.DangerousRelease();
            }
        }
    }

    /// <summary>Commits the insert; returns the error or the statistics (rows and bytes written).</summary>
    public ChDbError? Complete(out QueryStats stats)
    {
        stats = default;
        var added = false;
        stream.DangerousAddRef(ref added);
        try
        {
            var raw = stream.DangerousGetHandle();
            completed = true;
            var error = ChDbResult.From(ChDbNative.chdb_stream_done(raw), out var result);
            if (error is not null)
            {
                return ReadError(raw) ?? error;
            }

            stats = result!.Stats;
            result.Dispose();
            return null;
        }
        finally
        {
            if (added)
            {
                stream.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        if (!completed && !stream.IsClosed)
        {
            var added = false;
            stream.DangerousAddRef(ref added);
            try
            {
                ChDbNative.chdb_stream_cancel_insert(stream.DangerousGetHandle());
            }
            finally
            {
                if (added)
                {
                    stream.DangerousRelease();
                }
            }
        }

        stream.Dispose();
    }

    internal static ChDbError? ReadError(nint raw)
    {
        var error = ChDbNative.chdb_stream_insert_error(raw);
        return error == 0 ? null : ChDbError.Parse(Marshal.PtrToStringUTF8(error) ?? "unknown chDB insert error");
    }
}
