namespace StreamPipeline.AgentSimulator.Responses;

/// <summary>
/// The agent's response cache (agent-protocol.md 5.1) and, apart from it, the record of real executions. Bounded: the
/// last <see cref="SimulatorOptions.RequestCacheCapacity"/> ids and at most <see cref="SimulatorOptions.RequestCacheMaxBytes"/>
/// of responses; the oldest id goes first, and a request for an evicted id runs again, like a fresh one.
/// <see cref="Clear"/> forgets every cached response (an agent that restarted, <see cref="RequestCacheMode.LostOnReconnect"/>)
/// but not the executions: those are what tests count, per request id for the last <see cref="ExecutionLogCapacity"/>
/// ids, per action and in total for ever.
/// </summary>
internal sealed class RequestCache(int capacity, long maxBytes)
{
    /// <summary>Request ids whose execution count is kept (the oldest forgotten first).</summary>
    public const int ExecutionLogCapacity = 100_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, byte[]> _entries = [];
    private readonly Queue<long> _order = new();
    private readonly Dictionary<long, int> _executionsById = [];
    private readonly Queue<long> _executionOrder = new();
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
                frame = entry;
                return true;
            }
        }

        frame = [];
        return false;
    }

    /// <summary>Counts one real execution of <paramref name="action"/>, with its request id when it had one.</summary>
    public void CountExecution(string action, long? id = null)
    {
        lock (_gate)
        {
            _executions++;
            _byAction[action] = _byAction.GetValueOrDefault(action) + 1;
            if (id is not { } known)
            {
                return;
            }

            if (_executionsById.TryGetValue(known, out var count))
            {
                _executionsById[known] = count + 1;
                return;
            }

            _executionsById.Add(known, 1);
            _executionOrder.Enqueue(known);
            if (_executionOrder.Count > ExecutionLogCapacity)
            {
                _executionsById.Remove(_executionOrder.Dequeue());
            }
        }
    }

    /// <summary>Remembers the response of an executed request.</summary>
    public void Store(long id, byte[] frame)
    {
        lock (_gate)
        {
            if (!_entries.TryAdd(id, frame))
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
                    _bytes -= evicted.Length;
                    _evictions++;
                }
            }
        }
    }

    /// <summary>Forgets every cached response (the agent restarted); execution counts stay.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
            _order.Clear();
            _bytes = 0;
        }
    }

    /// <summary>How many times the request with this id really ran (0 if never, or if it left the execution log).</summary>
    public int ExecutionCount(long id)
    {
        lock (_gate)
        {
            return _executionsById.GetValueOrDefault(id);
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
}
