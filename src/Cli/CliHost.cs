// Shared plumbing of the commands: common options, JSON or human output, one-line errors and exit codes.
using System.CommandLine;
using System.CommandLine.Invocation;
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

    /// <summary>The command line this process was started with (workers of `train --nproc-per-node` get it again).</summary>
    public static IReadOnlyList<string> Arguments { get; private set; } = [];

    public static int Run(RootCommand root, string[] args)
    {
        Arguments = args;
        root.Add(Json);
        root.Add(Quiet);
        var parse = root.Parse(args);
        bool json = parse.GetValue(Json);
        if (parse.Action is ParseErrorAction)
        {
            // Usage errors follow the same contract as every other failure: one line on stderr, nothing else.
            var command = parse.CommandResult.Command;
            string usage = command == root ? root.Name : $"{root.Name} {command.Name}";
            return Fail(string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.'))) + $" (see '{usage} --help').", "ParseError", json, 1);
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : e;
            string text = inner switch
            {
                OperationCanceledException => "cancelled",
                ArgumentException { ParamName: { } p } a => a.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal),
                _ => inner.Message,
            };
            return Fail(text, inner.GetType().Name, json, inner is OperationCanceledException ? 130 : 1);
        }
    }

    /// <summary>Reports a failure as one `error:` line on stderr (and a JSON object on stdout with --json).</summary>
    private static int Fail(string text, string type, bool json, int exitCode)
    {
        string message = OneLine(text);
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new { error = message, type }, JsonOptions));
        }

        Console.Error.WriteLine($"error: {message}");
        return exitCode;
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
