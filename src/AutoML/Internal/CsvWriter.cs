// A minimal RFC 4180 CSV writer: fields with separators, quotes, line breaks or edge spaces are quoted.
using System.Text;

namespace MLNet.Transformer.AutoML.Internal;

internal sealed class CsvWriter
{
    private readonly TextWriter _writer;

    public CsvWriter(TextWriter writer) => _writer = writer;

    /// <summary>Quotes a field when needed: it contains a comma, a double quote, CR or LF, or starts or ends with a
    /// space; quotes inside are doubled.</summary>
    public static string Escape(string field)
    {
        bool quote = field.Length > 0 && (field[0] == ' ' || field[^1] == ' ');
        foreach (char c in field)
        {
            if (c is ',' or '"' or '\r' or '\n')
            {
                quote = true;
                break;
            }
        }

        if (!quote)
        {
            return field;
        }

        var sb = new StringBuilder(field.Length + 2).Append('"');
        foreach (char c in field)
        {
            sb.Append(c == '"' ? "\"\"" : c.ToString());
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Writes one record terminated by CRLF.</summary>
    public void WriteRow(IEnumerable<string> fields)
    {
        _writer.Write(string.Join(',', fields.Select(Escape)));
        _writer.Write("\r\n");
    }
}
