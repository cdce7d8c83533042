// The connector terminates TLS with a cipher-suite policy (TlsPolicy), which .NET supports on Linux and macOS only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
