// A view over a CSV/TSV file: the header (if any) is read once to build the schema; every cursor then
// re-opens the file and parses it forward in batches of 1,024 records, converting only the active columns.
using System.Globalization;

namespace MLNet.Transformer.Data;

/// <summary>Streams typed columns out of a delimited text file.</summary>
internal sealed class DelimitedTextDataView : IDataView
{
    private readonly string _path;
    private readonly TextLoaderOptions _options;
    private readonly int[] _sourceIndex;
    private readonly DataKind[] _kinds;
    private readonly int _expectedFields;

    public DelimitedTextDataView(string path, TextLoaderOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Text file '{path}' not found.", path);
        }

        _path = path;
        _options = options;
        var first = new List<string>();
        bool any;
        using (var reader = OpenReader())
        {
            any = reader.ReadRecord(first, out _);
        }

        if (options.HasHeader && !any)
        {
            throw new TextLoaderException(path, 1, null, "the file is empty but a header was expected.");
        }

        _expectedFields = any ? first.Count : 0;
        var columns = options.Columns.Count > 0
            ? [.. options.Columns]
            : options.HasHeader
                ? first.Select(h => new TextLoaderColumn(h)).ToList()
                : Enumerable.Range(0, first.Count).Select(i => new TextLoaderColumn($"Column{i}") { SourceIndex = i }).ToList();

        _sourceIndex = new int[columns.Count];
        _kinds = new DataKind[columns.Count];
        var builder = new DataViewSchema.Builder();
        for (int i = 0; i < columns.Count; i++)
        {
            var c = columns[i];
            ArgumentException.ThrowIfNullOrEmpty(c.Name, nameof(options));
            if (c.SourceIndex is int index)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(index, nameof(options));
                _sourceIndex[i] = index;
            }
            else if (options.HasHeader)
            {
                string source = c.SourceName ?? c.Name;
                _sourceIndex[i] = first.IndexOf(source);
                if (_sourceIndex[i] < 0)
                {
                    throw new SchemaException(
                        $"Column '{source}' not found in the header of '{path}'. Header columns: {string.Join(", ", first.Select(h => $"'{h}'"))}.", source);
                }
            }
            else
            {
                throw new ArgumentException($"Column '{c.Name}': the file has no header, so SourceIndex is required.", nameof(options));
            }

            _kinds[i] = c.Kind;
            builder.AddColumn(c.Name, TypeOf(c.Kind));
        }

        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(this, columnsNeeded);

    private CsvRecordReader OpenReader() =>
        new(TextLinesDataView.OpenText(_path), _path, _options.Separator, _options.AllowQuoting, _options.TrimWhitespace);

    private static PrimitiveDataViewType TypeOf(DataKind kind) => kind switch
    {
        DataKind.String => TextDataViewType.Instance,
        DataKind.Boolean => BooleanDataViewType.Instance,
        DataKind.Int32 => NumberDataViewType.Int32,
        DataKind.Int64 => NumberDataViewType.Int64,
        DataKind.Single => NumberDataViewType.Single,
        DataKind.Double => NumberDataViewType.Double,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data kind."),
    };

    private object Parse(string field, bool missing, int column, long line)
    {
        string name = Schema[column].Name;
        var kind = _kinds[column];
        if (missing && !_options.AllowMissingFields)
        {
            throw new TextLoaderException(_path, line, name,
                $"the record has no field {_sourceIndex[column] + 1} (set AllowMissingFields to read missing fields as empty/NaN).");
        }

        var inv = CultureInfo.InvariantCulture;
        switch (kind)
        {
            case DataKind.String:
                return field;
            case DataKind.Single:
                if (missing || field.Length == 0)
                {
                    return float.NaN;
                }

                return float.TryParse(field, NumberStyles.Float, inv, out float f) ? f : throw BadValue(field, kind, name, line);
            case DataKind.Double:
                if (missing || field.Length == 0)
                {
                    return double.NaN;
                }

                return double.TryParse(field, NumberStyles.Float, inv, out double d) ? d : throw BadValue(field, kind, name, line);
            case DataKind.Int32:
                return int.TryParse(field, NumberStyles.Integer, inv, out int i) ? i : throw BadValue(field, kind, name, line);
            case DataKind.Int64:
                return long.TryParse(field, NumberStyles.Integer, inv, out long l) ? l : throw BadValue(field, kind, name, line);
            case DataKind.Boolean:
                return field.Trim() switch
                {
                    var t when t.Equals("true", StringComparison.OrdinalIgnoreCase) || t == "1" => true,
                    var t when t.Equals("false", StringComparison.OrdinalIgnoreCase) || t == "0" => false,
                    _ => throw BadValue(field, kind, name, line),
                };
            default:
                throw new ArgumentOutOfRangeException(nameof(column));
        }
    }

    private TextLoaderException BadValue(string field, DataKind kind, string name, long line) =>
        new(_path, line, name, field.Length == 0
            ? $"the field is empty and {kind} has no missing value."
            : $"'{(field.Length > 40 ? field[..40] + "..." : field)}' is not a valid {kind}.");

    private sealed class Cursor : BatchedSourceCursor<object?[]>
    {
        private readonly DelimitedTextDataView _view;
        private readonly CsvRecordReader _reader;
        private readonly List<string> _fields = [];
        private bool _headerSkipped;

        public Cursor(DelimitedTextDataView view, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _view = view;
            _reader = view.OpenReader();
        }

        protected override int ReadBatch(object?[][] buffer)
        {
            if (!_headerSkipped)
            {
                _headerSkipped = true;
                if (_view._options.HasHeader)
                {
                    _reader.ReadRecord(_fields, out _);
                }
            }

            int n = 0;
            while (n < buffer.Length && _reader.ReadRecord(_fields, out long line))
            {
                if (_view._expectedFields > 0 && _fields.Count > _view._expectedFields)
                {
                    throw new TextLoaderException(_view._path, line, null,
                        $"the record has {_fields.Count} fields but {(_view._options.HasHeader ? "the header" : "the first record")} has {_view._expectedFields} (is a quote missing?).");
                }

                var row = new object?[Schema.Count];
                for (int c = 0; c < row.Length; c++)
                {
                    int source = _view._sourceIndex[c];
                    bool missing = source >= _fields.Count;
                    if (missing && !_view._options.AllowMissingFields)
                    {
                        _view.Parse("", true, c, line);
                    }

                    if (Active[c])
                    {
                        row[c] = _view.Parse(missing ? "" : _fields[source], missing, c, line);
                    }
                }

                buffer[n++] = row;
            }

            return n;
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index) =>
            (ref TValue value) => value = (TValue)Current[index]!;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _reader.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
