using System.Runtime.InteropServices;

namespace StreamPipeline.Embedded.ClickHouse.Native;

/// <summary>Owns a <c>chdb_result*</c>: destroyed exactly once, even when a request is abandoned.</summary>
internal sealed class ChDbResultHandle : SafeHandle
{
    public ChDbResultHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        ChDbNative.chdb_destroy_query_result(handle);
        return true;
    }
}

/// <summary>Owns a <c>chdb_insert_stream*</c>.</summary>
internal sealed class ChDbInsertStreamHandle : SafeHandle
{
    public ChDbInsertStreamHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        ChDbNative.chdb_destroy_insert_stream(handle);
        return true;
    }
}

/// <summary>
/// Owns a <c>chdb_connection*</c>. Closing the last connection of a process shuts the engine down, so the engine keeps
/// one of these open for the process lifetime (see <see cref="Engine.ChDbEngine"/>).
/// </summary>
internal sealed class ChDbConnectionHandle : SafeHandle
{
    public ChDbConnectionHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    /// <summary>The value the query functions take: <c>*conn</c>. Call only while a reference is held.</summary>
    public nint Connection => Marshal.ReadIntPtr(handle);

    protected override bool ReleaseHandle()
    {
        ChDbNative.chdb_close_conn(handle);
        return true;
    }
}
