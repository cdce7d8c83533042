namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// The agent's response cache (agent-protocol.md 5.1) and the record of real executions. Keyed by request id for
/// the whole life of the simulated agent (it survives reconnects). Bounded: the last
/// <see cref="SimulatorOptions.RequestCacheCapacity"/> ids and at most <see cref="SimulatorOptions.RequestCacheMaxBytes"/>
/// of responses; the oldest id goes first, and a request for an evicted id runs again, like a fresh one.
/// Per-id execution counts are kept for the ids in that window; per-action and total counts are never lost.
/// </summary>
internal sealed class RequestCache(int capacity, long maxBytes)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Entry> _entries = [];
    private readonly Queue<long> _order = new();
    private readonly Dictionary<string, int> _byAction = new(StringComparer.Ordinal);
    private long _bytes;
    private long _executions;
    private long _cachedReplies;
    private long _evictions;

    public long Executions
    {
        get
        {
            lock (_gate)
            {
                return _executions;
            }
        }
    }

    public long CachedReplies
    {
        get
        {
            lock (_gate)
            {
                return _cachedReplies;
            }
        }
    }

    public long Evictions
    {
        get
        {
            lock (_gate)
            {
                return _evictions;
            }
        }
    }

    /// <summary>The cached response frame of <paramref name="id"/>, counting a cached reply when found.</summary>
    public bool TryGetResponse(long id, out byte[] frame)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                _cachedReplies++;
                frame = entry.Frame;
                return true;
            }
        }

        frame = [];
        return false;
    }

    /// <summary>Counts one real execution of <paramref name="action"/> (with an id or without one).</summary>
    public void CountExecution(string action)
    {
        lock (_gate)
        {
            _executions++;
            _byAction[action] = _byAction.GetValueOrDefault(action) + 1;
        }
    }

    /// <summary>Remembers the response of an executed request.</summary>
    public void Store(long id, byte[] frame)
    {
        lock (_gate)
        {
            if (!_entries.TryAdd(id, new Entry(frame, 1)))
            {
                return;
            }

            _order.Enqueue(id);
            _bytes += frame.Length;
            while (_order.Count > 1 && (_order.Count > capacity || _bytes > maxBytes))
            {
                var oldest = _order.Dequeue();
                if (_entries.Remove(oldest, out var evicted))
                {
                    _bytes -= evicted.Frame.Length;
                    _evictions++;
                }
            }
        }
    }

    /// <summary>How many times the request with this id really ran (0 if never, or evicted from the window).</summary>
    public int ExecutionCount(long id)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(id, out var entry) ? entry.Executions : 0;
        }
    }

    public int ExecutionCount(string action)
    {
        lock (_gate)
        {
            return _byAction.GetValueOrDefault(action);
        }
    }

    public bool Contains(long id)
    {
        lock (_gate)
        {
            return _entries.ContainsKey(id);
        }
    }

    private readonly record struct Entry(byte[] Frame, int Executions);
}
