using System.Collections;

namespace StreamPipeline.Protocol;

/// <summary>
/// A list that keeps its items when cleared, so a sample parsed every few seconds reuses the same objects (and their
/// cached strings) instead of allocating new ones.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class ReusableList<T> : IReadOnlyList<T>
    where T : class, new()
{
    private T[] _items = [];
    private int _count;

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            return _items[index];
        }
    }

    /// <summary>
    /// Appends an item and returns it: a recycled one that still holds its previous values, or a new one.
    /// Set every field of it.
    /// </summary>
    public T Add()
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Max(4, _items.Length * 2));
        }

        return _items[_count++] ??= new T();
    }

    /// <summary>Empties the list, keeping the items for reuse.</summary>
    public void Clear() => _count = 0;

    /// <summary>The items, for allocation-free loops.</summary>
    public ReadOnlySpan<T> AsSpan() => _items.AsSpan(0, _count);

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return _items[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
