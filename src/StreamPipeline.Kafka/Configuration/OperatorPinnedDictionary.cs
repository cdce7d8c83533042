using System.Collections;

namespace StreamPipeline.Kafka.Configuration;

/// <summary>
/// The dictionary behind every client config we build: the operator's <c>Kafka:Client</c> settings are pinned, and a
/// later write to a pinned key (a service tuning <c>linger.ms</c> after creating its config, say) is ignored. So
/// "Kafka:Client wins" holds in one place instead of depending on each call site applying the settings last.
/// </summary>
public sealed class OperatorPinnedDictionary : IDictionary<string, string>
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);

    public OperatorPinnedDictionary(IReadOnlyDictionary<string, string> operatorSettings)
    {
        ArgumentNullException.ThrowIfNull(operatorSettings);
        foreach (var (key, value) in operatorSettings)
        {
            _values[key] = value;
            _pinned.Add(key);
        }
    }

    /// <summary>Whether <paramref name="key"/> came from <c>Kafka:Client</c> (and so cannot be changed).</summary>
    public bool IsPinned(string key) => _pinned.Contains(key);

    /// <summary>Sets a default of ours: kept only where the operator set nothing.</summary>
    public void SetDefault(string key, string value)
    {
        if (!_pinned.Contains(key)) _values[key] = value;
    }

    public string this[string key]
    {
        get => _values[key];
        set => SetDefault(key, value);
    }

    public ICollection<string> Keys => _values.Keys;

    public ICollection<string> Values => _values.Values;

    public int Count => _values.Count;

    public bool IsReadOnly => false;

    public void Add(string key, string value) => SetDefault(key, value);

    public void Add(KeyValuePair<string, string> item) => SetDefault(item.Key, item.Value);

    public void Clear()
    {
        foreach (var key in _values.Keys.ToArray())
        {
            if (!_pinned.Contains(key)) _values.Remove(key);
        }
    }

    public bool Contains(KeyValuePair<string, string> item) => _values.TryGetValue(item.Key, out var v) && v == item.Value;

    public bool ContainsKey(string key) => _values.ContainsKey(key);

    public void CopyTo(KeyValuePair<string, string>[] array, int arrayIndex) => ((ICollection<KeyValuePair<string, string>>)_values).CopyTo(array, arrayIndex);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _values.GetEnumerator();

    public bool Remove(string key) => !_pinned.Contains(key) && _values.Remove(key);

    public bool Remove(KeyValuePair<string, string> item) => Contains(item) && Remove(item.Key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value) => _values.TryGetValue(key, out value);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
