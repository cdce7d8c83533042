using StreamPipeline.Embedded.SchemaRegistry.Compatibility;
using StreamPipeline.Embedded.SchemaRegistry.Schemas;

namespace StreamPipeline.Embedded.SchemaRegistry.Storage;

/// <summary>
/// The registry's in-memory state. One lock guards everything: requests are few and short
/// (a test stand-in, not a production store), and a single lock makes "check compatibility,
/// then add the version" atomic.
/// Deletes are soft by default, as in Confluent: the version stays (and keeps its number and id)
/// but is hidden unless a request asks for deleted=true; <c>permanent=true</c> after a soft
/// delete removes it. Schema ids are never removed, so data written with them stays readable.
/// </summary>
internal sealed class SchemaStore(SchemaCompatibilityLevel defaultCompatibility)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, StoredSchema> _schemasById = [];
    private readonly Dictionary<string, StoredSchema> _schemasByCanonicalForm = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<VersionEntry>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SchemaCompatibilityLevel> _subjectCompatibility = new(StringComparer.Ordinal);
    private SchemaCompatibilityLevel _globalCompatibility = defaultCompatibility;
    private int _lastId;

    public SchemaCompatibilityLevel GlobalCompatibility
    {
        get { lock (_gate) { return _globalCompatibility; } }
        set { lock (_gate) { _globalCompatibility = value; } }
    }

    /// <summary>Adds <paramref name="schema"/> to <paramref name="subject"/> unless it is already a live version.</summary>
    /// <exception cref="RegistryException">409 when it is incompatible with earlier versions.</exception>
    public Registration Register(string subject, ParsedAvroSchema schema)
    {
        lock (_gate)
        {
            List<VersionEntry> versions = GetOrAddSubject(subject);
            foreach (VersionEntry entry in versions)
            {
                if (!entry.Deleted && entry.Schema.Schema.CanonicalForm == schema.CanonicalForm)
                {
                    return new Registration(new SubjectVersion(subject, entry.Version, entry.Schema), Created: false);
                }
            }

            SchemaCompatibilityLevel level = EffectiveCompatibility(subject);
            List<VersionEntry> live = LiveNewestFirst(versions);
            CompatibilityResult result = AvroCompatibilityChecker.CheckLevel(level, schema.Schema, live, e => e.Schema.Schema.Schema);
            if (!result.IsCompatible)
            {
                VersionEntry failed = live[result.FailedIndex];
                throw RegistryErrors.Incompatible(
                    $"Schema being registered is incompatible with an earlier schema for subject \"{subject}\"; " +
                    $"details: [{string.Join(", ", result.Issues)}]; oldSchemaVersion: {failed.Version}; " +
                    $"oldSchema: '{failed.Schema.Schema.Text}'; compatibility: '{CompatibilityLevelNames.ToWireName(level)}'. " +
                    "Make the change compatible (e.g. give new fields a default) or change the subject's level with PUT /config/{subject}.");
            }

            if (!_schemasByCanonicalForm.TryGetValue(schema.CanonicalForm, out StoredSchema? stored))
            {
                stored = new StoredSchema(++_lastId, schema);
                _schemasById.Add(stored.Id, stored);
                _schemasByCanonicalForm.Add(schema.CanonicalForm, stored);
            }

            int version = versions.Count == 0 ? 1 : versions[^1].Version + 1;
            versions.Add(new VersionEntry(version, stored));
            return new Registration(new SubjectVersion(subject, version, stored), Created: true);
        }
    }

    /// <summary>Finds the version of <paramref name="subject"/> that holds <paramref name="schema"/>.</summary>
    public SubjectVersion Lookup(string subject, ParsedAvroSchema schema, bool includeDeleted)
    {
        lock (_gate)
        {
            List<VersionEntry> versions = GetVisibleSubject(subject, includeDeleted);
            for (int i = versions.Count - 1; i >= 0; i--)
            {
                VersionEntry entry = versions[i];
                if ((includeDeleted || !entry.Deleted) && entry.Schema.Schema.CanonicalForm == schema.CanonicalForm)
                {
                    return new SubjectVersion(subject, entry.Version, entry.Schema);
                }
            }

            throw RegistryErrors.SchemaNotFoundInSubject(subject);
        }
    }

    public StoredSchema GetSchema(int id)
    {
        lock (_gate)
        {
            return _schemasById.TryGetValue(id, out StoredSchema? stored) ? stored : throw RegistryErrors.SchemaNotFound(id);
        }
    }

    /// <summary>Every (subject, version) that uses schema <paramref name="id"/>.</summary>
    public List<(string Subject, int Version)> GetUsages(int id, bool includeDeleted)
    {
        lock (_gate)
        {
            if (!_schemasById.ContainsKey(id))
            {
                throw RegistryErrors.SchemaNotFound(id);
            }

            List<(string, int)> usages = [];
            foreach ((string subject, List<VersionEntry> versions) in _subjects)
            {
                foreach (VersionEntry entry in versions)
                {
                    if (entry.Schema.Id == id && (includeDeleted || !entry.Deleted))
                    {
                        usages.Add((subject, entry.Version));
                    }
                }
            }

            usages.Sort();
            return usages;
        }
    }

    public List<string> GetSubjects(bool includeDeleted, string? prefix)
    {
        lock (_gate)
        {
            List<string> subjects = [];
            foreach ((string subject, List<VersionEntry> versions) in _subjects)
            {
                if ((prefix is null || subject.StartsWith(prefix, StringComparison.Ordinal)) &&
                    versions.Exists(e => includeDeleted || !e.Deleted))
                {
                    subjects.Add(subject);
                }
            }

            subjects.Sort(StringComparer.Ordinal);
            return subjects;
        }
    }

    public List<int> GetVersions(string subject, bool includeDeleted)
    {
        lock (_gate)
        {
            List<int> numbers = [];
            foreach (VersionEntry entry in GetVisibleSubject(subject, includeDeleted))
            {
                if (includeDeleted || !entry.Deleted)
                {
                    numbers.Add(entry.Version);
                }
            }

            return numbers;
        }
    }

    public SubjectVersion GetVersion(string subject, VersionSelector selector, bool includeDeleted)
    {
        lock (_gate)
        {
            VersionEntry entry = FindVersion(subject, selector, includeDeleted);
            return new SubjectVersion(subject, entry.Version, entry.Schema);
        }
    }

    /// <summary>Soft-deletes every live version, or with <paramref name="permanent"/> removes an already soft-deleted subject.</summary>
    public List<int> DeleteSubject(string subject, bool permanent)
    {
        lock (_gate)
        {
            if (!_subjects.TryGetValue(subject, out List<VersionEntry>? versions) || versions.Count == 0)
            {
                throw RegistryErrors.SubjectNotFound(subject);
            }

            bool anyLive = versions.Exists(e => !e.Deleted);
            if (permanent)
            {
                if (anyLive)
                {
                    throw RegistryErrors.SubjectNotSoftDeleted(subject);
                }

                List<int> removed = versions.ConvertAll(e => e.Version);
                _subjects.Remove(subject);
                _subjectCompatibility.Remove(subject);
                return removed;
            }

            if (!anyLive)
            {
                throw RegistryErrors.SubjectSoftDeleted(subject);
            }

            List<int> deleted = [];
            foreach (VersionEntry entry in versions)
            {
                if (!entry.Deleted)
                {
                    entry.Deleted = true;
                    deleted.Add(entry.Version);
                }
            }

            return deleted;
        }
    }

    public int DeleteVersion(string subject, VersionSelector selector, bool permanent)
    {
        lock (_gate)
        {
            // A numbered version is found even when soft-deleted so a repeated delete can say so.
            VersionEntry entry = FindVersion(subject, selector, includeDeleted: permanent || selector.Number is not null);
            if (!permanent && entry.Deleted)
            {
                throw RegistryErrors.VersionSoftDeleted(subject, entry.Version);
            }

            if (permanent)
            {
                if (!entry.Deleted)
                {
                    throw RegistryErrors.VersionNotSoftDeleted(subject, entry.Version);
                }

                List<VersionEntry> versions = _subjects[subject];
                versions.Remove(entry);
                if (versions.Count == 0)
                {
                    _subjects.Remove(subject);
                }

                return entry.Version;
            }

            entry.Deleted = true;
            return entry.Version;
        }
    }

    /// <summary>
    /// Tests <paramref name="schema"/> against one version (direction from the subject's level) or,
    /// for <see cref="VersionSelector.Latest"/> or null, exactly as a registration would be checked.
    /// A subject with no versions accepts anything, as Confluent does.
    /// </summary>
    public (CompatibilityResult Result, SchemaCompatibilityLevel Level) TestCompatibility(
        string subject, VersionSelector? selector, ParsedAvroSchema schema)
    {
        lock (_gate)
        {
            SchemaCompatibilityLevel level = EffectiveCompatibility(subject);
            if (selector is null || selector.Value.Number is null)
            {
                List<VersionEntry> live = _subjects.TryGetValue(subject, out List<VersionEntry>? versions) ? LiveNewestFirst(versions) : [];
                return (AvroCompatibilityChecker.CheckLevel(level, schema.Schema, live, e => e.Schema.Schema.Schema), level);
            }

            VersionEntry entry = FindVersion(subject, selector.Value, includeDeleted: false);
            SchemaCompatibilityLevel oneVersion = level switch
            {
                SchemaCompatibilityLevel.BackwardTransitive => SchemaCompatibilityLevel.Backward,
                SchemaCompatibilityLevel.ForwardTransitive => SchemaCompatibilityLevel.Forward,
                SchemaCompatibilityLevel.FullTransitive => SchemaCompatibilityLevel.Full,
                _ => level,
            };
            return (AvroCompatibilityChecker.CheckLevel(oneVersion, schema.Schema, [entry], e => e.Schema.Schema.Schema), level);
        }
    }

    public SchemaCompatibilityLevel? GetSubjectCompatibility(string subject)
    {
        lock (_gate)
        {
            return _subjectCompatibility.TryGetValue(subject, out SchemaCompatibilityLevel level) ? level : null;
        }
    }

    public void SetSubjectCompatibility(string subject, SchemaCompatibilityLevel level)
    {
        lock (_gate)
        {
            _subjectCompatibility[subject] = level;
        }
    }

    /// <summary>Removes the subject's own level (so the global one applies) and returns what it was.</summary>
    public SchemaCompatibilityLevel RemoveSubjectCompatibility(string subject)
    {
        lock (_gate)
        {
            return _subjectCompatibility.Remove(subject, out SchemaCompatibilityLevel level)
                ? level
                : throw RegistryErrors.SubjectCompatibilityNotConfigured(subject);
        }
    }

    private SchemaCompatibilityLevel EffectiveCompatibility(string subject) =>
        _subjectCompatibility.TryGetValue(subject, out SchemaCompatibilityLevel level) ? level : _globalCompatibility;

    private List<VersionEntry> GetOrAddSubject(string subject)
    {
        if (!_subjects.TryGetValue(subject, out List<VersionEntry>? versions))
        {
            versions = [];
            _subjects.Add(subject, versions);
        }

        return versions;
    }

    private List<VersionEntry> GetVisibleSubject(string subject, bool includeDeleted)
    {
        if (!_subjects.TryGetValue(subject, out List<VersionEntry>? versions) ||
            !versions.Exists(e => includeDeleted || !e.Deleted))
        {
            throw RegistryErrors.SubjectNotFound(subject);
        }

        return versions;
    }

    private VersionEntry FindVersion(string subject, VersionSelector selector, bool includeDeleted)
    {
        List<VersionEntry> versions = GetVisibleSubject(subject, includeDeleted);
        for (int i = versions.Count - 1; i >= 0; i--)
        {
            VersionEntry entry = versions[i];
            if ((includeDeleted || !entry.Deleted) && (selector.Number is null || selector.Number == entry.Version))
            {
                return entry;
            }
        }

        throw RegistryErrors.VersionNotFound(subject, selector.Number ?? -1);
    }

    private static List<VersionEntry> LiveNewestFirst(List<VersionEntry> versions)
    {
        List<VersionEntry> live = [];
        for (int i = versions.Count - 1; i >= 0; i--)
        {
            if (!versions[i].Deleted)
            {
                live.Add(versions[i]);
            }
        }

        return live;
    }

    private sealed class VersionEntry(int version, StoredSchema schema)
    {
        public int Version { get; } = version;

        public StoredSchema Schema { get; } = schema;

        public bool Deleted { get; set; }
    }
}
