using System.Text;
using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>
/// One chDB connection, used by one request at a time (statements on one connection take turns anyway). Each connection
/// is its own ClickHouse session: <c>SET</c> and <c>USE</c> stick to it. HTTP requests are session-less, so the session
/// remembers which database and settings it currently has and <see cref="ApplyContext"/> changes only the difference
/// (one <c>USE ...; SET a='1', b=DEFAULT</c> statement, nothing when the previous request used the same ones).
/// </summary>
internal sealed unsafe class ChDbSession : IDisposable
{
    private static readonly byte[] TabSeparated = "TabSeparated"u8.ToArray();

    private readonly ChDbConnectionHandle handle;
    private readonly Dictionary<string, string> applied = new(StringComparer.Ordinal);
    private readonly StringBuilder statement = new();
    private string database = "default";

    public ChDbSession(ChDbConnectionHandle handle) => this.handle = handle;

    /// <summary>The session ran a client's own SET or USE: its state is unknown, so the pool closes it instead of reusing it.</summary>
    public bool Tainted { get; set; }

    /// <summary>Switches database and settings for the next statement, resetting settings the previous request set.</summary>
    public ChDbError? ApplyContext(string? requestedDatabase, IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        statement.Clear();
        var targetDatabase = string.IsNullOrEmpty(requestedDatabase) ? "default" : requestedDatabase;
        if (!string.Equals(targetDatabase, database, StringComparison.Ordinal))
        {
            statement.Append("USE ");
            AppendIdentifier(statement, targetDatabase);
            statement.Append(';');
        }

        var setStart = statement.Length;
        foreach (var (name, value) in settings)
        {
            if (!applied.TryGetValue(name, out var current) || !string.Equals(current, value, StringComparison.Ordinal))
            {
                AppendAssignment(statement, setStart, name);
                AppendStringLiteral(statement, value);
            }
        }

        foreach (var name in applied.Keys)
        {
            if (!Contains(settings, name))
            {
                AppendAssignment(statement, setStart, name);
                statement.Append("DEFAULT");
            }
        }

        if (statement.Length == 0)
        {
            return null;
        }

        var sql = Encoding.UTF8.GetBytes(statement.ToString());
        var error = Query(sql, TabSeparated, null, out var result);
        result?.Dispose();
        if (error is not null)
        {
            // A failed multi-statement may have applied part of it: the session state is unknown now.
            Tainted = true;
            return error;
        }

        database = targetDatabase;
        applied.Clear();
        foreach (var (name, value) in settings)
        {
            applied[name] = value;
        }

        return null;
    }

    /// <summary>Runs a statement to completion (DDL, INSERT ... SELECT, SHOW, small results).</summary>
    public ChDbError? Query(ReadOnlySpan<byte> sql, ReadOnlySpan<byte> format, QueryParameters? parameters, out ChDbResult? result)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            fixed (byte* q = sql)
            fixed (byte* f = format)
            {
                var raw = parameters is null || parameters.Count == 0
                    ? ChDbNative.chdb_query_n(handle.Connection, q, (nuint)sql.Length, f, (nuint)format.Length)
                    : ChDbNative.chdb_query_with_params_n(
                        handle.Connection, q, (nuint)sql.Length, f, (nuint)format.Length,
                        parameters.Names, parameters.NameLengths, parameters.Values, parameters.ValueLengths, (nuint)parameters.Count);
                return ChDbResult.From(raw, out result);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Starts a streaming SELECT; chunks are fetched with <see cref="ChDbQueryStream.Fetch"/>.</summary>
    public ChDbError? StreamQuery(ReadOnlySpan<byte> sql, ReadOnlySpan<byte> format, QueryParameters? parameters, out ChDbQueryStream? stream)
    {
        stream = null;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            nint raw;
            fixed (byte* q = sql)
            fixed (byte* f = format)
            {
                raw = parameters is null || parameters.Count == 0
                    ? ChDbNative.chdb_stream_query_n(handle.Connection, q, (nuint)sql.Length, f, (nuint)format.Length)
                    : ChDbNative.chdb_stream_query_with_params_n(
                        handle.Connection, q, (nuint)sql.Length, f, (nuint)format.Length,
                        parameters.Names, parameters.NameLengths, parameters.Values, parameters.ValueLengths, (nuint)parameters.Count);
            }

            if (raw == 0)
            {
                return ErrorCodes.Create(ErrorCodes.StdException, "chDB returned no streaming result (the engine may have been shut down in this process)");
            }

            var owned = new ChDbResultHandle(raw);
            var error = ChDbNative.chdb_result_error(raw);
            if (error != 0)
            {
                var text = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(error) ?? "unknown chDB error";
                owned.Dispose();
                return ChDbError.Parse(text);
            }

            stream = new ChDbQueryStream(handle, owned);
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Opens a streaming insert. <paramref name="insertHead"/> is the INSERT statement without its FORMAT clause
    /// (<c>INSERT INTO t (a, b) SETTINGS x=1</c>); the data goes through <see cref="ChDbInsert.Append"/> and never through
    /// <c>chdb_query_n</c>, which cuts binary data at the first blank line.
    /// </summary>
    public ChDbError? BeginInsert(ReadOnlySpan<byte> insertHead, ReadOnlySpan<byte> format, QueryParameters? parameters, out ChDbInsert? insert)
    {
        insert = null;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            nint raw;
            fixed (byte* q = insertHead)
            fixed (byte* f = format)
            {
                raw = parameters is null || parameters.Count == 0
                    ? ChDbNative.chdb_stream_insert_n(handle.Connection, q, (nuint)insertHead.Length, f, (nuint)format.Length)
                    : ChDbNative.chdb_stream_insert_with_params_n(
                        handle.Connection, q, (nuint)insertHead.Length, f, (nuint)format.Length,
                        parameters.Names, parameters.NameLengths, parameters.Values, parameters.ValueLengths, (nuint)parameters.Count);
            }

            if (raw == 0)
            {
                return ErrorCodes.Create(ErrorCodes.StdException, "chDB could not open an insert stream (the engine may have been shut down in this process)");
            }

            var owned = new ChDbInsertStreamHandle(raw);
            var failure = ChDbInsert.ReadError(raw);
            if (failure is not null)
            {
                owned.Dispose();
                return failure;
            }

            insert = new ChDbInsert(owned);
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => handle.Dispose();

    private static bool Contains(IReadOnlyList<KeyValuePair<string, string>> settings, string name)
    {
        for (var i = 0; i < settings.Count; i++)
        {
            if (string.Equals(settings[i].Key, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void AppendAssignment(StringBuilder sb, int setStart, string name)
    {
        sb.Append(sb.Length == setStart ? "SET " : ", ");
        AppendIdentifier(sb, name);
        sb.Append(" = ");
    }

    internal static void AppendIdentifier(StringBuilder sb, string identifier)
    {
        sb.Append('`');
        foreach (var c in identifier)
        {
            if (c is '`' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('`');
    }

    internal static void AppendStringLiteral(StringBuilder sb, string value)
    {
        sb.Append('\'');
        foreach (var c in value)
        {
            if (c is '\'' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('\'');
    }
}
