using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.ClickHouse.Engine;

namespace StreamPipeline.Embedded.ClickHouse.Http;

/// <summary>
/// A ClickHouse HTTP interface (the part ClickHouse.Driver and curl use) in front of the in-process chDB engine.
/// Semantics follow ClickHouse's HTTPHandler: the query is the <c>query</c> URL parameter, a line break, then the body;
/// an INSERT's inline data (after <c>FORMAT X</c> or <c>VALUES</c>) is streamed into the engine, never parsed as SQL.
/// </summary>
internal sealed partial class ClickHouseHttpFacade : IAsyncDisposable
{
    private const int HeadBufferSize = 64 << 10;
    private const int MaxHeadBytes = 1 << 20;
    private const int MaxQueryBytes = 16 << 20;
    private const int InsertChunkSize = 1 << 20;
    private const int ResponseSliceSize = 256 << 10;
    private const int PrefetchBytes = 1 << 20;
    private const string StreamingNotSupported = "Streaming query is not supported";
    private static readonly byte[] TabSeparated = "TabSeparated"u8.ToArray();

    private readonly ChDbEngine engine;
    private readonly Credentials credentials;
    private readonly ILogger logger;
    private readonly WebApplication app;

    private ClickHouseHttpFacade(ChDbEngine engine, EmbeddedClickHouseOptions options, WebApplication app)
    {
        this.engine = engine;
        this.app = app;
        credentials = new Credentials(options.User, options.Password);
        logger = options.LoggerFactory.CreateLogger("StreamPipeline.Embedded.ClickHouse.Http");
        Url = new Uri("http://127.0.0.1/");
    }

    public Uri Url { get; private set; }

    public static async Task<ClickHouseHttpFacade> StartAsync(ChDbEngine engine, EmbeddedClickHouseOptions options, CancellationToken cancellationToken)
    {
        var address = string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(options.Host);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(ClickHouseHttpFacade).Assembly.GetName().Name });
        builder.Services.AddLogging(logging =>
        {
            logging.AddProvider(new ForwardingLoggerProvider(options.LoggerFactory));
            logging.AddFilter("Microsoft", LogLevel.Warning);
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // inserts are streamed, never buffered whole
            kestrel.Listen(address, options.Port);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        // The owner stops the facade (DisposeAsync). The default console lifetime would take SIGTERM/SIGINT for itself
        // and stop only this listener, so the process hosting the engine never learnt it was asked to stop.
        builder.Services.AddSingleton<IHostLifetime, OwnerStoppedLifetime>();
        var app = builder.Build();
        var facade = new ClickHouseHttpFacade(engine, options, app);
        app.Run(facade.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new EmbeddedClickHouseException(
                $"Port {options.Port} on {options.Host} is already in use (EmbeddedClickHouseOptions.Port). " +
                "Stop the process that listens there, choose another Port, or use Port 0 for a free one.", e);
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)).Port;
        facade.Url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{port}/"));
        Log.FacadeStarted(facade.logger, facade.Url, engine.DataPath);
        return facade;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await app.StopAsync(cancellationToken).ConfigureAwait(false);
        Log.FacadeStopped(logger, Url);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private static string ContentTypeOf(string format)
    {
        if (format.StartsWith("TabSeparated", StringComparison.OrdinalIgnoreCase) || format.StartsWith("TSV", StringComparison.OrdinalIgnoreCase))
        {
            return "text/tab-separated-values; charset=UTF-8";
        }

        if (format.StartsWith("CSV", StringComparison.OrdinalIgnoreCase))
        {
            return "text/csv; charset=UTF-8; header=absent";
        }

        if (format.StartsWith("JSON", StringComparison.OrdinalIgnoreCase))
        {
            return "application/json; charset=UTF-8";
        }

        if (format.Equals("XML", StringComparison.OrdinalIgnoreCase))
        {
            return "application/xml; charset=UTF-8";
        }

        return format.StartsWith("Pretty", StringComparison.OrdinalIgnoreCase) || format is "Vertical" or "Markdown" or "Values"
            ? "text/plain; charset=UTF-8"
            : "application/octet-stream";
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        if (path is "/ping" or "/replicas_status")
        {
            await WriteOkAsync(context).ConfigureAwait(false);
            return;
        }

        if (path is not ("/" or "" or null))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain; charset=UTF-8";
            await context.Response.WriteAsync($"There is no handle {path}\n\nUse / or /ping for health checks.\nSend queries with POST / or GET /?query=...\n").ConfigureAwait(false);
            return;
        }

        var parameters = RequestParameters.Parse(context.Request.Query);
        if (HttpMethods.IsGet(context.Request.Method) && parameters.Query is null && context.Request.ContentLength is null or 0)
        {
            await WriteOkAsync(context).ConfigureAwait(false);
            return;
        }

        var queryId = string.IsNullOrEmpty(parameters.QueryId) ? Guid.NewGuid().ToString() : parameters.QueryId;
        context.Response.Headers["X-ClickHouse-Query-Id"] = queryId;
        context.Response.Headers["X-ClickHouse-Timezone"] = engine.Timezone;
        try
        {
            await ExecuteAsync(context, parameters, queryId).ConfigureAwait(false);
        }
        catch (ContentDecodingException e)
        {
            await WriteErrorAsync(context, queryId, e.Error, rejected: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or BadHttpRequestException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the native resources were released on the way out.
        }
        catch (BadHttpRequestException e)
        {
            await WriteErrorAsync(context, queryId, ErrorCodes.Create(ErrorCodes.BadArguments, "Cannot read the request body: " + e.Message.TrimEnd('.')), rejected: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.UnexpectedError(logger, e, queryId);
            await WriteErrorAsync(context, queryId, ErrorCodes.Create(ErrorCodes.StdException, $"{e.GetType().Name}: {e.Message.TrimEnd('.')}"), rejected: false).ConfigureAwait(false);
        }
    }

    private async Task ExecuteAsync(HttpContext context, RequestParameters parameters, string queryId)
    {
        var failure = credentials.Check(context.Request, parameters);
        if (failure is not null)
        {
            await WriteErrorAsync(context, queryId, failure, rejected: true).ConfigureAwait(false);
            return;
        }

        Stream body = context.Request.Body;
        if (parameters.Decompress)
        {
            body = new NativeCompressedStream(body);
        }

        failure = ContentCodings.OpenRequestBody(body, context.Request.Headers.ContentEncoding.ToString(), out var decoded);
        if (failure is not null)
        {
            await WriteErrorAsync(context, queryId, failure, rejected: true).ConfigureAwait(false);
            return;
        }

        await using (decoded.ConfigureAwait(false))
        {
            var head = new HeadBuffer(HeadBufferSize);
            try
            {
                var aborted = context.RequestAborted;
                await head.FillAsync(parameters.Query, decoded, aborted).ConfigureAwait(false);
                InsertHead insert;
                StatementKind kind;
                while ((kind = SqlText.Analyze(head.Span, head.Complete, out insert)) == StatementKind.NeedMore)
                {
                    if (head.Length >= MaxHeadBytes)
                    {
                        await WriteErrorAsync(context, queryId, ErrorCodes.Create(ErrorCodes.QueryIsTooLarge, $"The INSERT statement before its data is longer than {MaxHeadBytes} bytes, or the FORMAT clause is missing"), rejected: true).ConfigureAwait(false);
                        return;
                    }

                    await head.ReadMoreAsync(decoded, aborted).ConfigureAwait(false);
                }

                if (kind == StatementKind.Query)
                {
                    while (!head.Complete)
                    {
                        if (head.Length >= MaxQueryBytes)
                        {
                            await WriteErrorAsync(context, queryId, ErrorCodes.Create(ErrorCodes.QueryIsTooLarge, $"The query is longer than {MaxQueryBytes} bytes. Send data as an INSERT ... FORMAT with the data in the body"), rejected: true).ConfigureAwait(false);
                            return;
                        }

                        await head.ReadMoreAsync(decoded, aborted).ConfigureAwait(false);
                    }

                    if (IsBlank(head.Span))
                    {
                        await WriteErrorAsync(context, queryId, ErrorCodes.Create(ErrorCodes.SyntaxError, "Empty query"), rejected: true).ConfigureAwait(false);
                        return;
                    }
                }

                using var queryParameters = parameters.Parameters.Count > 0 ? new QueryParameters(parameters.Parameters) : null;
                var session = await engine.RentAsync(aborted).ConfigureAwait(false);
                try
                {
                    failure = session.ApplyContext(parameters.Database, parameters.Settings);
                    if (failure is not null)
                    {
                        await WriteErrorAsync(context, queryId, failure, rejected: false).ConfigureAwait(false);
                        return;
                    }

                    if (kind == StatementKind.InsertWithData)
                    {
                        await InsertAsync(context, session, head, insert, decoded, queryParameters, queryId).ConfigureAwait(false);
                    }
                    else
                    {
                        if (SqlText.ChangesSession(head.Span))
                        {
                            session.Tainted = true;
                        }

                        await QueryAsync(context, session, head, parameters, queryParameters, queryId).ConfigureAwait(false);
                    }
                }
                finally
                {
                    engine.Return(session);
                }
            }
            finally
            {
                head.Dispose();
            }
        }
    }

    private async Task InsertAsync(HttpContext context, ChDbSession session, HeadBuffer head, InsertHead insertHead, Stream body, QueryParameters? queryParameters, string queryId)
    {
        var started = Stopwatch.GetTimestamp();
        var statement = head.Span[..insertHead.StatementLength].TrimEnd(" \t\r\n"u8).ToArray();
        var failure = session.BeginInsert(statement, Encoding.UTF8.GetBytes(insertHead.Format), queryParameters, out var insert);
        if (failure is not null)
        {
            await WriteErrorAsync(context, queryId, failure, rejected: false).ConfigureAwait(false);
            return;
        }

        using (insert)
        {
            failure = insert!.Append(head.Span[insertHead.DataStart..]);
            if (failure is null && !head.Complete)
            {
                failure = await CopyBodyAsync(body, insert, context.RequestAborted).ConfigureAwait(false);
            }

            QueryStats stats = default;
            failure ??= insert.Complete(out stats);
            if (failure is not null)
            {
                await WriteErrorAsync(context, queryId, failure, rejected: false).ConfigureAwait(false);
                return;
            }

            context.Response.Headers["X-ClickHouse-Summary"] = stats.ToSummaryJson(0, 0, Stopwatch.GetElapsedTime(started));
            context.Response.ContentLength = 0;
        }
    }

    /// <summary>
    /// Streams the rest of the body into the insert in 1 MiB chunks from pooled buffers, reading the next chunk while
    /// the engine consumes the current one.
    /// </summary>
    private static async Task<ChDbError?> CopyBodyAsync(Stream body, ChDbInsert insert, CancellationToken cancellationToken)
    {
        var current = ArrayPool<byte>.Shared.Rent(InsertChunkSize);
        var next = ArrayPool<byte>.Shared.Rent(InsertChunkSize);
        Task<int>? pending = null;
        try
        {
            pending = body.ReadAtLeastAsync(current.AsMemory(0, InsertChunkSize), InsertChunkSize, throwOnEndOfStream: false, cancellationToken).AsTask();
            while (true)
            {
                var read = await pending.ConfigureAwait(false);
                pending = null;
                if (read == 0)
                {
                    return null;
                }

                if (read == InsertChunkSize)
                {
                    pending = body.ReadAtLeastAsync(next.AsMemory(0, InsertChunkSize), InsertChunkSize, throwOnEndOfStream: false, cancellationToken).AsTask();
                }

                var failure = insert.Append(current.AsSpan(0, read));
                if (failure is not null || pending is null)
                {
                    return failure;
                }

                (current, next) = (next, current);
            }
        }
        finally
        {
            if (pending is not null)
            {
                // Never return a buffer to the pool while a read still writes into it.
                try
                {
                    await pending.ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ContentDecodingException or BadHttpRequestException)
                {
                    // The insert failed already; this read's outcome no longer matters.
                }
            }

            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }

    private async Task QueryAsync(HttpContext context, ChDbSession session, HeadBuffer head, RequestParameters parameters, QueryParameters? queryParameters, string queryId)
    {
        var started = Stopwatch.GetTimestamp();
        var format = string.IsNullOrEmpty(parameters.DefaultFormat) ? TabSeparated : Encoding.UTF8.GetBytes(parameters.DefaultFormat);
        var outputFormat = SqlText.FindFormatClause(head.Span) ?? Encoding.UTF8.GetString(format);
        var chunks = new List<ChDbResult>();
        ChDbQueryStream? stream = null;
        try
        {
            ChDbError? failure = null;
            var framing = ResultFraming.Of(outputFormat);
            var streaming = framing != Framing.WholeResult && SqlText.IsSelect(head.Span);
            byte[]? header = null;
            if (streaming)
            {
                failure = session.StreamQuery(head.Span, format, queryParameters, out stream);
                if (failure is not null && failure.Message.Contains(StreamingNotSupported, StringComparison.Ordinal))
                {
                    streaming = false;
                    failure = null;
                }
            }

            if (!streaming)
            {
                failure = session.Query(head.Span, format, queryParameters, out var whole);
                if (whole is not null)
                {
                    chunks.Add(whole);
                }
            }

            // Gather up to 1 MiB before answering, so that errors raised while reading still get a proper status and
            // small results get an exact summary and a Content-Length.
            var buffered = 0L;
            var finished = !streaming;
            var stats = default(QueryStats);
            while (failure is null && !finished && buffered < PrefetchBytes)
            {
                failure = stream!.Fetch(out var chunk);
                if (chunk is null)
                {
                    continue;
                }

                stats = stats.Add(chunk.Stats);
                if (chunk.Length == 0)
                {
                    chunk.Dispose();
                    finished = true;
                    break;
                }

                buffered += chunk.Length;
                chunks.Add(chunk);
            }

            if (failure is null && framing == Framing.StripRepeatedHeader && chunks.Count > 0)
            {
                var headerLength = ResultFraming.HeaderLength(outputFormat, chunks[0].Span);
                header = headerLength > 0 ? chunks[0].Span[..headerLength].ToArray() : null;
                for (var i = 1; i < chunks.Count; i++)
                {
                    buffered -= SkipOf(chunks[i], header);
                }
            }

            if (failure is not null)
            {
                await WriteErrorAsync(context, queryId, failure, rejected: false).ConfigureAwait(false);
                return;
            }

            if (!streaming && chunks.Count == 1)
            {
                stats = chunks[0].Stats;
                buffered = chunks[0].Length;
            }

            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentTypeOf(outputFormat);
            response.Headers["X-ClickHouse-Format"] = outputFormat;
            response.Headers["X-ClickHouse-Summary"] = stats.ToSummaryJson(0, (ulong)buffered, Stopwatch.GetElapsedTime(started));
            var coding = parameters.EnableHttpCompression ? ContentCodings.ChooseResponseCoding(context.Request.Headers.AcceptEncoding.ToString()) : null;
            if (coding is not null)
            {
                response.Headers.ContentEncoding = coding;
                response.Headers.Vary = "Accept-Encoding";
            }
            else if (finished)
            {
                response.ContentLength = buffered;
            }

            var output = coding is null ? response.Body : ContentCodings.OpenResponseEncoder(response.Body, coding);
            var scratch = ArrayPool<byte>.Shared.Rent(ResponseSliceSize);
            try
            {
                for (var i = 0; i < chunks.Count; i++)
                {
                    await WriteChunkAsync(output, chunks[i], i == 0 ? 0 : SkipOf(chunks[i], header), scratch, context.RequestAborted).ConfigureAwait(false);
                    chunks[i].Dispose();
                }

                chunks.Clear();
                while (!finished)
                {
                    failure = stream!.Fetch(out var chunk);
                    if (failure is not null)
                    {
                        // Headers are gone: say it in the body as ClickHouse does, and cut the response so no client
                        // mistakes it for a complete result.
                        Log.ResponseAborted(logger, queryId, failure.Message);
                        await output.WriteAsync(Encoding.UTF8.GetBytes("\n" + failure.ToClickHouseText(engine.Version)), context.RequestAborted).ConfigureAwait(false);
                        await output.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                        context.Abort();
                        return;
                    }

                    using (chunk)
                    {
                        if (chunk!.Length == 0)
                        {
                            finished = true;
                        }
                        else
                        {
                            await WriteChunkAsync(output, chunk, SkipOf(chunk, header), scratch, context.RequestAborted).ConfigureAwait(false);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
                if (!ReferenceEquals(output, response.Body))
                {
                    await output.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            foreach (var chunk in chunks)
            {
                chunk.Dispose();
            }

            stream?.Dispose();
        }
    }

    /// <summary>How many bytes to skip at the start of a later chunk: the header that chDB repeats, if it is there.</summary>
    private static int SkipOf(ChDbResult chunk, byte[]? header) =>
        header is not null && chunk.Span.StartsWith(header) ? header.Length : 0;

    private static async Task WriteChunkAsync(Stream output, ChDbResult chunk, int start, byte[] scratch, CancellationToken cancellationToken)
    {
        for (var offset = start; offset < chunk.Length;)
        {
            var n = Math.Min(scratch.Length, chunk.Length - offset);
            chunk.Span.Slice(offset, n).CopyTo(scratch);
            await output.WriteAsync(scratch.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            offset += n;
        }
    }

    private async Task WriteErrorAsync(HttpContext context, string queryId, ChDbError error, bool rejected)
    {
        if (rejected)
        {
            Log.RequestRejected(logger, queryId, error.Code, error.Name, error.Message);
        }
        else
        {
            Log.QueryFailed(logger, queryId, error.Code, error.Name, error.Message);
        }

        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return;
        }

        response.StatusCode = ErrorCodes.HttpStatusOf(error.Code);
        response.Headers["X-ClickHouse-Exception-Code"] = error.Code.ToString(CultureInfo.InvariantCulture);
        response.ContentType = "text/plain; charset=UTF-8";
        var text = Encoding.UTF8.GetBytes(error.ToClickHouseText(engine.Version));
        response.ContentLength = text.Length;
        try
        {
            await response.Body.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The client is gone.
        }
    }

    private static Task WriteOkAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=UTF-8";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync("Ok.\n");
    }

    private static bool IsBlank(ReadOnlySpan<byte> text) => text.TrimStart(" \t\r\n"u8).IsEmpty;
}
