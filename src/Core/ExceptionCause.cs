// The message worth showing for an exception that arrived wrapped: reflection's TargetInvocationException and
// ML.NET's "Error during class instantiation" say nothing about what went wrong; their innermost cause does.
using System.Reflection;

namespace MLNet.Transformer;

/// <summary>Finds the message of the real cause inside wrapper exceptions.</summary>
public static class ExceptionCause
{
    /// <summary>
    /// The message of <paramref name="e"/>, followed by its innermost cause's when it differs, with reflection's
    /// invocation wrappers skipped: "Error during class instantiation: [ONNX Runtime's own message]".
    /// </summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var outer = Unwrap(e);
        var inner = outer;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return ReferenceEquals(inner, outer) || outer.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? outer.Message
            : $"{outer.Message.TrimEnd('.')}: {inner.Message}";
    }

    /// <summary><paramref name="e"/> without the TargetInvocationException and single-exception AggregateException wrappers around it.</summary>
    public static Exception Unwrap(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        while (e is TargetInvocationException { InnerException: { } t } || e is AggregateException { InnerExceptions.Count: 1 })
        {
            e = e is AggregateException a ? a.InnerExceptions[0] : e.InnerException!;
        }

        return e;
    }
}
