namespace StreamPipeline.Protocol;

/// <summary>Why a frame, payload or command was refused. Stable: counters and dead letters are labelled with it.</summary>
public enum ProtocolErrorReason
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The bytes are not one well-formed JSON value (or a string is not valid UTF-8).</summary>
    MalformedJson,
    /// <summary>A required field is absent (or null).</summary>
    MissingField,
    /// <summary>A field has the wrong JSON type, e.g. a string where a number is expected.</summary>
    WrongType,
    /// <summary>A number does not fit a finite double (e.g. 1e400).</summary>
    NotFinite,
    /// <summary>A number is outside its allowed range (or too large for its integer type).</summary>
    OutOfRange,
    /// <summary>A list holds more items than the configured limit.</summary>
    TooManyItems,
    /// <summary>A string is longer (in UTF-8 bytes) than the configured limit.</summary>
    StringTooLong,
    /// <summary>A field has the right type but a value the protocol does not allow, e.g. an unknown envelope type.</summary>
    InvalidValue,
    /// <summary>A command names an action the agents do not know.</summary>
    UnknownAction,
    /// <summary>
    /// An object names the same field twice, e.g. <c>{"type":"event",...,"type":"response"}</c>. JSON parsers disagree on
    /// which one wins, so a frame could be checked as one thing and handled as another: it is refused.
    /// </summary>
    DuplicateField,
}

/// <summary>
/// An error returned as a value: a reason code for counters and a message for people that says what was wrong and where,
/// e.g. <c>diskUsage[2].totalGB must be a number, got string</c>. Built only on the failure path.
/// </summary>
public readonly record struct ProtocolError(ProtocolErrorReason Reason, string Message)
{
    /// <summary>True when this value carries no error (the default).</summary>
    public bool IsNone => Reason == ProtocolErrorReason.None;

    /// <inheritdoc />
    public override string ToString() => IsNone ? "None" : $"{Reason}: {Message}";
}
