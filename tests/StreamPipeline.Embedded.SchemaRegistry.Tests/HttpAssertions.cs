using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests;

internal static class HttpAssertions
{
    public const string RegistryContentType = "application/vnd.schemaregistry.v1+json";

    public static async Task<(HttpStatusCode Status, JsonElement Body, string? ContentType)> SendAsync(
        this HttpClient http, HttpMethod method, string path, string? body = null, string contentType = RegistryContentType)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement json = default;
        if (text.Length > 0)
        {
            using JsonDocument document = JsonDocument.Parse(text);
            json = document.RootElement.Clone();
        }

        return (response.StatusCode, json, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Asserts a Confluent error body and returns its message.</summary>
    public static string AssertError(this (HttpStatusCode Status, JsonElement Body, string? ContentType) response, HttpStatusCode status, int errorCode)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal(RegistryContentType, response.ContentType);
        Assert.Equal(errorCode, response.Body.GetProperty("error_code").GetInt32());
        string? message = response.Body.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    /// <summary>After a bad request, a normal registration and read must still work.</summary>
    public static async Task AssertStillServesAsync(this HttpClient http)
    {
        string subject = RegistryFixture.NewSubject("alive");
        var registered = await http.SendAsync(HttpMethod.Post, $"/subjects/{subject}/versions", TestSchemas.Body(TestSchemas.UserV1));
        Assert.Equal(HttpStatusCode.OK, registered.Status);
        int id = registered.Body.GetProperty("id").GetInt32();
        var read = await http.SendAsync(HttpMethod.Get, $"/schemas/ids/{id}");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(TestSchemas.UserV1, read.Body.GetProperty("schema").GetString());
    }
}
