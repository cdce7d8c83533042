using System.Runtime.InteropServices;
using System.Text;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>
/// Query parameters (<c>{name:Type}</c>) laid out once in native memory the way <c>chdb_*_with_params_n</c> wants them:
/// arrays of UTF-8 pointers and lengths. Values are in ClickHouse's HTTP text form (the <c>param_x</c> URL values).
/// </summary>
internal sealed unsafe class QueryParameters : IDisposable
{
    private byte* block;

    public QueryParameters(IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        Count = parameters.Count;
        var stringBytes = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            stringBytes += Encoding.UTF8.GetByteCount(parameters[i].Key) + Encoding.UTF8.GetByteCount(parameters[i].Value) + 2;
        }

        var pointerBytes = Count * 2 * (sizeof(nint) + sizeof(nuint));
        block = (byte*)NativeMemory.Alloc((nuint)(pointerBytes + stringBytes));
        Names = (byte**)block;
        NameLengths = (nuint*)(block + (Count * sizeof(nint)));
        Values = (byte**)(block + (Count * (sizeof(nint) + sizeof(nuint))));
        ValueLengths = (nuint*)(block + (Count * ((2 * sizeof(nint)) + sizeof(nuint))));
        var cursor = block + pointerBytes;
        var end = block + pointerBytes + stringBytes;
        for (var i = 0; i < parameters.Count; i++)
        {
            Names[i] = cursor;
            NameLengths[i] = (nuint)Write(parameters[i].Key, ref cursor, end);
            Values[i] = cursor;
            ValueLengths[i] = (nuint)Write(parameters[i].Value, ref cursor, end);
        }
    }

    public int Count { get; }

    public byte** Names { get; }

    public nuint* NameLengths { get; }

    public byte** Values { get; }

    public nuint* ValueLengths { get; }

    public void Dispose()
    {
        if (block != null)
        {
            NativeMemory.Free(block);
            block = null;
        }
    }

    private static int Write(string text, ref byte* cursor, byte* end)
    {
        var written = Encoding.UTF8.GetBytes(text, new Span<byte>(cursor, (int)(end - cursor)));
        cursor[written] = 0;
        cursor += written + 1;
        return written;
    }
}
