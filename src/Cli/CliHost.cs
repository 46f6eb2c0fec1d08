// Shared plumbing of the commands: common options, JSON or human output, one-line errors and exit codes.
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNet.Transformer.Cli;

/// <summary>Runs the parsed command line and maps failures to a one-line error and a non-zero exit code.</summary>
internal static class CliHost
{
    /// <summary>--json: machine-readable output on stdout.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Write machine-readable JSON to stdout.", Recursive = true };

    /// <summary>--quiet: no progress output.</summary>
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress output.", Recursive = true };

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static int Run(RootCommand root, string[] args)
    {
        root.Add(Json);
        root.Add(Quiet);
        var parse = root.Parse(args);
        bool json = parse.GetValue(Json);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
            string text = inner switch
            {
                OperationCanceledException => "cancelled",
                ArgumentException { ParamName: { } p } a => a.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal),
                _ => inner.Message,
            };
            string message = OneLine(text);
            if (json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new { error = message, type = inner.GetType().Name }, JsonOptions));
            }

            Console.Error.WriteLine($"error: {message}");
            return inner is OperationCanceledException ? 130 : 1;
        }
    }

    /// <summary>Prints <paramref name="value"/> as JSON when --json is set, else calls <paramref name="human"/>.</summary>
    public static void Output(ParseResult parse, object value, Action human)
    {
        if (parse.GetValue(Json))
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        }
        else
        {
            human();
        }
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
