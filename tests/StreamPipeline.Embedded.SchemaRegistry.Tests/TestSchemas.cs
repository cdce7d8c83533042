using System.Text.Json;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests;

internal static class TestSchemas
{
    public const string UserV1 =
        """{"type":"record","name":"User","namespace":"tests","fields":[{"name":"name","type":"string"}]}""";

    /// <summary>UserV1 plus a field with a default: backward compatible.</summary>
    public const string UserV2WithDefault =
        """{"type":"record","name":"User","namespace":"tests","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}""";

    /// <summary>UserV1 plus a field without a default: not backward compatible.</summary>
    public const string UserV2WithoutDefault =
        """{"type":"record","name":"User","namespace":"tests","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}""";

    /// <summary>UserV1 with "name" changed from string to int: incompatible.</summary>
    public const string UserNameAsInt =
        """{"type":"record","name":"User","namespace":"tests","fields":[{"name":"name","type":"int"}]}""";

    /// <summary>The JSON body Confluent's API takes: the schema as a string.</summary>
    public static string Body(string schema) => JsonSerializer.Serialize(new Dictionary<string, string> { ["schema"] = schema });
}
