namespace StreamPipeline.Protocol;

internal static class JsonNumbers
{
    /// <summary>True for a JSON number written without fraction or exponent, e.g. <c>-12</c> (not <c>12.0</c> or <c>1e3</c>).</summary>
    public static bool IsIntegerLiteral(ReadOnlySpan<byte> number) => number.IndexOfAny(".eE"u8) < 0;
}
