using System.Runtime.InteropServices;

namespace StreamPipeline.LocalStack;

/// <summary>Ends the process at once (libc <c>_exit</c>): no atexit handlers, no native static destructors.</summary>
internal static partial class NativeExit
{
    public static void Now(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _exit(code);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void _exit(int status);
}
