// A one-column Text view over a text file with one example per line (UTF-8, BOM optional). Each cursor
// opens the file and reads it forward in batches of 1,024 lines: the file is never held in memory.
namespace MLNet.Transformer.Data;

/// <summary>Streams the lines of a text file as one Text column.</summary>
internal sealed class TextLinesDataView : IDataView
{
    private readonly string _path;
    private readonly bool _skipEmpty;

    public TextLinesDataView(string path, string columnName, bool skipEmpty)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(columnName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Text file '{path}' not found.", path);
        }

        _path = path;
        _skipEmpty = skipEmpty;
        Schema = new DataViewSchema.Builder().AddColumn(columnName, TextDataViewType.Instance).ToSchema();
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(this, columnsNeeded);

    /// <summary>Opens <paramref name="path"/> as UTF-8 (a UTF-8/UTF-16 byte order mark is honoured and skipped).</summary>
    internal static StreamReader OpenText(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan),
            new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), detectEncodingFromByteOrderMarks: true);

    private sealed class Cursor : BatchedSourceCursor<string>
    {
        private readonly TextLinesDataView _view;
        private readonly StreamReader _reader;

        public Cursor(TextLinesDataView view, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _view = view;
            _reader = OpenText(view._path);
        }

        protected override int ReadBatch(string[] buffer)
        {
            int n = 0;
            while (n < buffer.Length && _reader.ReadLine() is string line)
            {
                if (_view._skipEmpty && line.Length == 0)
                {
                    continue;
                }

                buffer[n++] = line;
            }

            return n;
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index) =>
            (ref TValue value) => value = (TValue)(object)Current;

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
