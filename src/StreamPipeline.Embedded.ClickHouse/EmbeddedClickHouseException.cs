namespace StreamPipeline.Embedded.ClickHouse;

/// <summary>
/// The embedded ClickHouse could not start or run: the message says what failed, for which setting, and how to fix it.
/// </summary>
public sealed class EmbeddedClickHouseException : Exception
{
    public EmbeddedClickHouseException()
    {
    }

    public EmbeddedClickHouseException(string message) : base(message)
    {
    }

    public EmbeddedClickHouseException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
