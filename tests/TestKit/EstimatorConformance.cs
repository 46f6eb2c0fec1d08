// The conformance helper every estimator's tests run: schema propagation, invalid inputs rejected by both
// GetOutputSchema and Fit with a SchemaException naming the column, and fit -> save -> load -> same outputs.
using System.Collections;
using MLNet.Transformer.Data;
using Xunit;

namespace MLNet.Transformer.TestKit;

/// <summary>Checks that an estimator honours the estimator/transformer contracts.</summary>
public static class EstimatorConformance
{
    /// <summary>
    /// Runs the three checks: (a) <c>estimator.GetOutputSchema(validData.Schema)</c> equals the fitted
    /// transformer's output schema and the transformed view's schema (names and types, in order); (b) every
    /// invalid input is rejected with a <see cref="SchemaException"/> whose message names the given column, by
    /// <c>GetOutputSchema</c> and by <c>Fit</c>; (c) the fitted transformer, saved with
    /// <c>mlContext.Model.Save</c> and loaded in a new <see cref="MLContext"/>, produces exactly the same values
    /// (and annotations) in every column of <paramref name="validData"/>.
    /// </summary>
    public static void Check<TTransformer>(
        MLContext mlContext,
        IEstimator<TTransformer> estimator,
        IDataView validData,
        params (IDataView Data, string ExpectedColumnInMessage)[] invalidInputs)
        where TTransformer : ITransformer
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(validData);

        // (b) Invalid inputs fail before any work, from both entry points.
        foreach (var (data, column) in invalidInputs)
        {
            var fromSchema = Assert.Throws<SchemaException>(() => estimator.GetOutputSchema(data.Schema));
            Assert.Contains(column, fromSchema.Message, StringComparison.Ordinal);
            var fromFit = Assert.Throws<SchemaException>(() => { using var t = estimator.Fit(data); });
            Assert.Contains(column, fromFit.Message, StringComparison.Ordinal);
        }

        // (a) Schema propagation: estimator, fitted transformer and transformed view agree.
        var expected = estimator.GetOutputSchema(validData.Schema);
        using var transformer = estimator.Fit(validData);
        AssertSameColumns(expected, transformer.GetOutputSchema(validData.Schema), "estimator vs fitted transformer");
        var transformed = transformer.Transform(validData);
        AssertSameColumns(expected, transformed.Schema, "estimator vs transformed view");

        // (c) Save, load in a new context, compare every value exactly.
        string path = Path.Combine(Path.GetTempPath(), $"mlt-conformance-{Guid.NewGuid():N}.zip");
        try
        {
            mlContext.Model.Save(transformer, validData.Schema, path);
            var fresh = new MLContext(mlContext.Seed);
            using var loaded = fresh.Model.Load(path, out var savedInputSchema);
            AssertSameColumns(validData.Schema, savedInputSchema, "saved input schema");
            var reloaded = loaded.Transform(validData);
            AssertSameColumns(transformed.Schema, reloaded.Schema, "original vs reloaded transformer");
            AssertSameAnnotations(transformed.Schema, reloaded.Schema);
            AssertSameValues(transformed, reloaded);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Asserts that two schemas have the same columns (name, type, hidden flag) in the same order.</summary>
    public static void AssertSameColumns(DataViewSchema expected, DataViewSchema actual, string what)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        string Describe(DataViewSchema s) => string.Join(", ", s.Select(c => $"{c.Name}: {c.Type}{(c.IsHidden ? " (hidden)" : "")}"));
        Assert.True(
            expected.Count == actual.Count && expected.Zip(actual).All(p => p.First.Name == p.Second.Name && p.First.Type.Equals(p.Second.Type) && p.First.IsHidden == p.Second.IsHidden),
            $"{what}: schemas differ.\n expected: {Describe(expected)}\n actual:   {Describe(actual)}");
    }

    /// <summary>Asserts that the visible columns of two views hold exactly the same values, row by row.</summary>
    public static void AssertSameValues(IDataView expected, IDataView actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var a = expected.Preview(int.MaxValue);
        var b = actual.Preview(int.MaxValue);
        Assert.Equal(a.RowView.Count, b.RowView.Count);
        for (int r = 0; r < a.RowView.Count; r++)
        {
            var ra = a.RowView[r].Values;
            var rb = b.RowView[r].Values;
            Assert.Equal(ra.Count, rb.Count);
            for (int c = 0; c < ra.Count; c++)
            {
                Assert.Equal(ra[c].Key, rb[c].Key);
                Assert.True(ValuesEqual(ra[c].Value, rb[c].Value),
                    $"Row {r}, column '{ra[c].Key}': expected {Format(ra[c].Value)}, got {Format(rb[c].Value)}.");
            }
        }
    }

    private static void AssertSameAnnotations(DataViewSchema expected, DataViewSchema actual)
    {
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.Equal(e.Annotations.Names.Order(), a.Annotations.Names.Order());
            foreach (string name in e.Annotations.Names)
            {
                Assert.Equal(e.Annotations.GetTypeOrNull(name), a.Annotations.GetTypeOrNull(name));
                Assert.True(ValuesEqual(e.Annotations.GetValue<object>(name), a.Annotations.GetValue<object>(name)),
                    $"Column '{e.Name}': annotation '{name}' differs after reload.");
            }
        }
    }

    /// <summary>Exact equality: element-wise for arrays; NaN equals NaN (boxed float/double Equals).</summary>
    private static bool ValuesEqual(object? x, object? y)
    {
        if (x is Array ax && y is Array ay)
        {
            if (ax.GetType() != ay.GetType() || ax.Length != ay.Length)
            {
                return false;
            }

            var ex = ((IEnumerable)ax).Cast<object?>();
            var ey = ((IEnumerable)ay).Cast<object?>();
            return ex.Zip(ey).All(p => Equals(p.First, p.Second));
        }

        return Equals(x, y);
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        Array a => "[" + string.Join(", ", ((IEnumerable)a).Cast<object?>()) + "]",
        _ => value.ToString() ?? "",
    };
}
