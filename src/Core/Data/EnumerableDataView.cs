// A data view over an IEnumerable<T> of user objects: each public field/property is a column. The
// enumerable is re-enumerated by every cursor, so a lazy sequence stays lazy.
namespace MLNet.Transformer.Data;

/// <summary>A view over user objects; values are read from the members only when a getter is called.</summary>
internal sealed class EnumerableDataView<T> : IDataView
    where T : class
{
    private readonly IEnumerable<T> _data;
    private readonly MemberColumn[] _members;

    public EnumerableDataView(IEnumerable<T> data, DataViewSchema? schema)
    {
        _data = data;
        var members = MemberColumn.For(typeof(T)).Where(m => m.CanRead).ToList();
        if (schema is null)
        {
            var builder = new DataViewSchema.Builder();
            foreach (var m in members)
            {
                builder.AddColumn(m.Name, m.Type);
            }

            Schema = builder.ToSchema();
            _members = [.. members];
            return;
        }

        // A given schema fixes order, types (e.g. vector sizes) and annotations; every column needs a member.
        _members = new MemberColumn[schema.Count];
        foreach (var column in schema)
        {
            var m = members.FirstOrDefault(x => x.Name == column.Name)
                ?? throw new SchemaException($"Column '{column.Name}' of the given schema has no public member of {typeof(T).Name} named so.", column.Name);
            if (m.Type.RawType != column.Type.RawType)
            {
                throw SchemaException.WrongType(column.Name, $"a type held as {m.MemberType.Name} (member {typeof(T).Name}.{m.Member.Name})", column.Type);
            }

            _members[column.Index] = m;
        }

        Schema = schema;
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _data switch
    {
        ICollection<T> c => c.Count,
        IReadOnlyCollection<T> r => r.Count,
        _ => null,
    };

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) =>
        new Cursor(this, columnsNeeded);

    private sealed class Cursor : CursorBase
    {
        private readonly EnumerableDataView<T> _view;
        private readonly IEnumerator<T> _rows;
        private long _position = -1;
        private T? _current;

        public Cursor(EnumerableDataView<T> view, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _view = view;
            _rows = view._data.GetEnumerator();
        }

        public override long Position => _position;

        public override bool MoveNext()
        {
            if (_rows.MoveNext())
            {
                _current = _rows.Current ?? throw new InvalidOperationException($"Row {_position + 1} of the enumerable is null.");
                _position++;
                return true;
            }

            _current = null;
            _position = -1;
            return false;
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index)
        {
            var member = _view._members[index];
            return (ref TValue value) =>
            {
                CheckOnRow();
                value = (TValue)member.GetValue(_current!);
            };
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _rows.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
