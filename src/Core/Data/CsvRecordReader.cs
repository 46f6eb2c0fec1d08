// A streaming RFC 4180 record reader: quoted fields may hold separators, doubled quotes and line breaks.
// Tracks the line on which each record starts for error messages. Blank lines between records are skipped.
using System.Text;

namespace MLNet.Transformer.Data;

/// <summary>Reads delimited records from a text reader, one at a time.</summary>
internal sealed class CsvRecordReader : IDisposable
{
    private readonly TextReader _reader;
    private readonly string _path;
    private readonly char _separator;
    private readonly bool _quoting;
    private readonly bool _trim;
    private readonly char[] _buffer = new char[1 << 15];
    private readonly StringBuilder _field = new();
    private int _pos;
    private int _len;
    private long _line = 1;

    public CsvRecordReader(TextReader reader, string path, char separator, bool quoting, bool trim)
    {
        if (separator is '"' or '\r' or '\n')
        {
            throw new ArgumentException($"The separator cannot be '{separator}'.", nameof(separator));
        }

        _reader = reader;
        _path = path;
        _separator = separator;
        _quoting = quoting;
        _trim = trim;
    }

    /// <summary>Reads the next record into <paramref name="fields"/>; false at the end of the file.</summary>
    /// <param name="fields">Cleared, then filled with the record's fields.</param>
    /// <param name="line">The one-based line on which the record starts.</param>
    public bool ReadRecord(List<string> fields, out long line)
    {
        fields.Clear();
        while (true)
        {
            int c = Peek();
            if (c == -1)
            {
                line = _line;
                return false;
            }

            if (c is '\r' or '\n')
            {
                SkipLineBreak();
                continue;
            }

            break;
        }

        line = _line;
        while (true)
        {
            _field.Clear();
            bool quoted = _quoting && Peek() == '"';
            if (quoted)
            {
                ReadQuoted(line);
            }
            else
            {
                int c;
                while ((c = Peek()) != -1 && c != _separator && c != '\r' && c != '\n')
                {
                    _field.Append((char)c);
                    _pos++;
                }
            }

            fields.Add(_trim && !quoted ? _field.ToString().Trim(' ', '\t') : _field.ToString());
            int next = Peek();
            if (next == _separator)
            {
                _pos++;
                continue;
            }

            if (next != -1)
            {
                SkipLineBreak();
            }

            return true;
        }
    }

    private void ReadQuoted(long recordLine)
    {
        _pos++; // opening quote
        while (true)
        {
            int c = Read();
            if (c == -1)
            {
                throw new TextLoaderException(_path, recordLine, null, "a quoted field is not closed before the end of the file.");
            }

            if (c == '"')
            {
                if (Peek() == '"')
                {
                    _pos++;
                    _field.Append('"');
                    continue;
                }

                int after = Peek();
                if (after != -1 && after != _separator && after != '\r' && after != '\n')
                {
                    throw new TextLoaderException(_path, _line, null,
                        $"unexpected '{(char)after}' after the closing quote of a field (a quote inside a quoted field must be doubled).");
                }

                return;
            }

            if (c == '\n' || (c == '\r' && Peek() != '\n'))
            {
                _line++;
            }

            _field.Append((char)c);
        }
    }

    private void SkipLineBreak()
    {
        int c = Read();
        if (c == '\r' && Peek() == '\n')
        {
            _pos++;
        }

        _line++;
    }

    private int Peek()
    {
        if (_pos < _len)
        {
            return _buffer[_pos];
        }

        _len = _reader.Read(_buffer, 0, _buffer.Length);
        _pos = 0;
        return _len == 0 ? -1 : _buffer[0];
    }

    private int Read()
    {
        int c = Peek();
        if (c != -1)
        {
            _pos++;
        }

        return c;
    }

    public void Dispose() => _reader.Dispose();
}
