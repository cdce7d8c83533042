using Avro;
using Avro.Specific;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Serdes;

/// <summary>
/// A hand-written Avro specific record (what avrogen would generate). Its Avro full name must be
/// this class's full name: SpecificDatumReader finds the type to create by that name.
/// </summary>
public sealed class SensorReading : ISpecificRecord
{
    // The serdes read this public static field by name through reflection, so its name is Avro's, not ours.
#pragma warning disable IDE1006
    public static readonly Schema _SCHEMA = Schema.Parse(
        """
        {"type":"record","name":"SensorReading","namespace":"StreamPipeline.Embedded.SchemaRegistry.Tests.Serdes",
         "fields":[{"name":"sensorId","type":"string"},{"name":"reading","type":"double"},{"name":"takenAtMs","type":"long"},
                   {"name":"unit","type":["null","string"],"default":null}]}
        """);
#pragma warning restore IDE1006

    public Schema Schema => _SCHEMA;

    public string SensorId { get; set; } = string.Empty;

    public double Reading { get; set; }

    public long TakenAtMs { get; set; }

    public string? Unit { get; set; }

    public object? Get(int fieldPos) => fieldPos switch
    {
        0 => SensorId,
        1 => Reading,
        2 => TakenAtMs,
        3 => Unit,
        _ => throw new AvroRuntimeException($"Bad index {fieldPos} in Get()"),
    };

    public void Put(int fieldPos, object fieldValue)
    {
        switch (fieldPos)
        {
            case 0: SensorId = (string)fieldValue; break;
            case 1: Reading = (double)fieldValue; break;
            case 2: TakenAtMs = (long)fieldValue; break;
            case 3: Unit = (string?)fieldValue; break;
            default: throw new AvroRuntimeException($"Bad index {fieldPos} in Put()");
        }
    }
}
