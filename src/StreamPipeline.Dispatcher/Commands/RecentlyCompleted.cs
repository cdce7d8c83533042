namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// A bounded set of the command ids decided most recently (oldest forgotten first): a record of a command already
/// answered is not run again, and a response for it is recognised as late. Not thread-safe: the engine's lock guards it.
/// </summary>
internal sealed class RecentlyCompleted(int capacity)
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count => _ids.Count;

    public void Add(string commandId)
    {
        if (!_ids.Add(commandId)) return;
        _order.Enqueue(commandId);
        while (_order.Count > capacity) _ids.Remove(_order.Dequeue());
    }

    public bool Contains(string commandId) => _ids.Contains(commandId);
}
