using System.Net;
using Confluent.SchemaRegistry;
using StreamPipeline.Kafka.Schemas;

namespace StreamPipeline.Deployment.Tests.Kafka;

/// <summary>
/// Regression (found merging issue 8 onto issue 11): SchemaRegistryException derives from HttpRequestException, so a 409
/// was retried forever as "registry unreachable" and the connector never exited 3 on an incompatible schema.
/// </summary>
public sealed class SchemaRegistrationTests
{
    [Fact]
    public void IsTransient_IncompatibleSchema409_IsPermanent() =>
        Assert.False(SchemaRegistration.IsTransient(new SchemaRegistryException("incompatible", HttpStatusCode.Conflict, 409)));

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData((HttpStatusCode)0)]
    public void IsTransient_RegistryDownOrServerError_IsRetried(HttpStatusCode status)
    {
        Assert.True(SchemaRegistration.IsTransient(new SchemaRegistryException("down", status, (int)status)));
        Assert.True(SchemaRegistration.IsTransient(new HttpRequestException("connection refused")));
    }
}
