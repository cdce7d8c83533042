using System.Buffers;
using System.Text;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// The start of a request's query text in a pooled buffer: the <c>query</c> URL parameter, a line break, then as much
/// of the body as was needed to decide how to run it (all of it for a plain query). Grows by doubling, rented only as
/// data arrives.
/// </summary>
internal sealed class HeadBuffer(int initialSize) : IDisposable
{
    private byte[] buffer = [];
    private int length;
    private bool separatorPending;

    public int Length => length;

    /// <summary>True once the body has ended: <see cref="Span"/> is the whole query text.</summary>
    public bool Complete { get; private set; }

    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);

    public async Task FillAsync(string? query, Stream body, CancellationToken cancellationToken)
    {
        var queryBytes = string.IsNullOrEmpty(query) ? 0 : Encoding.UTF8.GetByteCount(query);
        buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, queryBytes + initialSize));
        if (queryBytes > 0)
        {
            length = Encoding.UTF8.GetBytes(query, buffer);
            separatorPending = true; // ClickHouse joins the parameter and the body with '\n', if there is a body
        }

        await ReadMoreAsync(body, cancellationToken).ConfigureAwait(false);
    }

    public async Task ReadMoreAsync(Stream body, CancellationToken cancellationToken)
    {
        if (Complete)
        {
            return;
        }

        var reserve = separatorPending ? 1 : 0;
        if (buffer.Length - length - reserve < initialSize / 2)
        {
            var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
            buffer.AsSpan(0, length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = larger;
        }

        var read = await body.ReadAsync(buffer.AsMemory(length + reserve), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            Complete = true;
            return;
        }

        if (separatorPending)
        {
            buffer[length] = (byte)'\n';
            separatorPending = false;
        }

        length += reserve + read;
    }

    public void Dispose()
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
    }
}
