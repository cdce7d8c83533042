using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Native;

public sealed class ChDbLibraryTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("sp-chdb-lib-").FullName;

    [Fact]
    public void Resolve_MissingOptionPath_SaysHowToFetch()
    {
        var error = Assert.Throws<EmbeddedClickHouseException>(() => ChDbLibrary.Resolve(Path.Combine(directory, "libchdb.so")));

        Assert.Contains("LibraryPath", error.Message, StringComparison.Ordinal);
        Assert.Contains("`make chdb` or `build/fetch-chdb.sh`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_WrongSha256_SaysHowToFetchAndLeavesNoMarker()
    {
        var path = Path.Combine(directory, "libchdb.so");
        File.WriteAllText(path, "not the library");

        var error = Assert.Throws<EmbeddedClickHouseException>(() => ChDbLibrary.Verify(path));

        Assert.Contains(ChDbLibrary.Sha256, error.Message, StringComparison.Ordinal);
        Assert.Contains("`make chdb` or `build/fetch-chdb.sh`", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(directory, ".verified")));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
