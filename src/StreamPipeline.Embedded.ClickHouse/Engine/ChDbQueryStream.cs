using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>A streaming SELECT: fetch chunks until an empty one; cancel if the reader goes away.</summary>
internal sealed class ChDbQueryStream : IDisposable
{
    private readonly ChDbConnectionHandle connection;
    private readonly ChDbResultHandle result;
    private bool finished;

    public ChDbQueryStream(ChDbConnectionHandle connection, ChDbResultHandle result)
    {
        this.connection = connection;
        this.result = result;
    }

    /// <summary>The next chunk; an empty chunk (Length 0) ends the stream.</summary>
    public ChDbError? Fetch(out ChDbResult? chunk)
    {
        var added = false;
        var addedResult = false;
        connection.DangerousAddRef(ref added);
        result.DangerousAddRef(ref addedResult);
        try
        {
            var raw = ChDbNative.chdb_stream_fetch_result(connection.Connection, result.DangerousGetHandle());
            var error = ChDbResult.From(raw, out chunk);
            if (error is not null || chunk!.Length == 0)
            {
                finished = true;
            }

            return error;
        }
        finally
        {
            if (addedResult)
            {
                result.DangerousRelease();
            }

            if (added)
            {
                connection.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        if (!finished && !result.IsClosed)
        {
            var added = false;
            connection.DangerousAddRef(ref added);
            try
            {
                ChDbNative.chdb_stream_cancel_query(connection.Connection, result.DangerousGetHandle());
            }
            finally
            {
                if (added)
                {
                    connection.DangerousRelease();
                }
            }
        }

        result.Dispose();
    }
}
