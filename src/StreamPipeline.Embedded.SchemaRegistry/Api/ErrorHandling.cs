using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.Embedded.SchemaRegistry.Api;

/// <summary>
/// Middleware that gives every error Confluent's body <c>{"error_code": N, "message": "..."}</c>:
/// registry errors thrown by handlers, bad requests, unknown routes (404), wrong methods (405)
/// and unexpected failures (500 / 50001).
/// </summary>
internal static class ErrorHandling
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, ILogger logger)
    {
        try
        {
            await next(context);
        }
        catch (RegistryException ex)
        {
            await WriteErrorAsync(context, ex.HttpStatus, ex.ErrorCode, ex.Message, logger);
            return;
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, ex.StatusCode, ex.StatusCode, $"Bad request: {ex.Message}", logger);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            Log.UnexpectedError(logger, ex, context.Request.Method, context.Request.Path);
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, 50001, $"Error in the embedded registry: {ex.Message}", logger);
            return;
        }

        HttpResponse response = context.Response;
        if (!response.HasStarted && response.ContentType is null && response.ContentLength is null)
        {
            if (response.StatusCode == StatusCodes.Status404NotFound)
            {
                await WriteErrorAsync(context, 404, 404, $"HTTP 404 Not Found: no endpoint for {context.Request.Method} {context.Request.Path}", logger);
            }
            else if (response.StatusCode == StatusCodes.Status405MethodNotAllowed)
            {
                await WriteErrorAsync(context, 405, 405, $"HTTP 405 Method Not Allowed: {context.Request.Path} does not accept {context.Request.Method}", logger);
            }
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, int errorCode, string message, ILogger logger)
    {
        Log.RequestFailed(logger, context.Request.Method, context.Request.Path, status, errorCode, message);
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = RegistryJson.ContentType;
        await JsonSerializer.SerializeAsync(context.Response.Body, new ErrorResponse(errorCode, message), RegistryJson.Options, context.RequestAborted);
    }
}
