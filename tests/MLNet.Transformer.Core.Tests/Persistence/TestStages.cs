// Test-only pipeline stages (vocabulary lookup, affine map, chain, versioned, unregistered, failing) and an
// in-memory data view, used to exercise the model .zip round trip without the native engine.
using System.Runtime.CompilerServices;
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

/// <summary>Registers the test stages' loaders, as a stage assembly does.</summary>
internal static class TestStageRegistration
{
#pragma warning disable CA2255 // The registry's documented pattern: explicit registration from a module initializer.
    [ModuleInitializer]
    internal static void Register()
#pragma warning restore CA2255
    {
        ModelLoaderRegistry.Register(VocabStage.Signature, VocabStage.Load, supportedVersion: 1);
        ModelLoaderRegistry.Register(AffineStage.Signature, AffineStage.Load, supportedVersion: 1);
        ModelLoaderRegistry.Register(ChainStage.Signature, ChainStage.Load, supportedVersion: 1);
        ModelLoaderRegistry.Register(VersionedStage.Signature, VersionedStage.Load, supportedVersion: 2);
        ModelLoaderRegistry.Register(ThrowingStage.Signature, ThrowingStage.Load);
    }
}

/// <summary>A small, eagerly materialised data view: one object[] of values per column.</summary>
internal sealed class InMemoryDataView : IDataView
{
    private readonly object[][] _columns;

    public InMemoryDataView(DataViewSchema schema, params object[][] columns)
    {
        Schema = schema;
        _columns = columns;
    }

    public DataViewSchema Schema { get; }

    public int RowCount => _columns.Length == 0 ? 0 : _columns[0].Length;

    public long? GetRowCount() => RowCount;

    public object Value(string column, int row) => _columns[Schema[column].Index][row];

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(this);

    /// <summary>A copy of this view with <paramref name="name"/> appended.</summary>
    public InMemoryDataView With(string name, DataViewType type, object[] values) =>
        new(new DataViewSchema.Builder().AddColumns(Schema).AddColumn(name, type).ToSchema(), [.. _columns, values]);

    /// <summary>Reads every row of any view (every column) into plain objects.</summary>
    public static List<object?[]> ReadAll(IDataView view)
    {
        var rows = new List<object?[]>();
        using var cursor = view.GetRowCursor(view.Schema);
        var getters = view.Schema.Select(c => MakeGetter(cursor, c)).ToArray();
        while (cursor.MoveNext())
        {
            rows.Add(getters.Select(g => g()).ToArray());
        }

        return rows;
    }

    private static Func<object?> MakeGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var method = typeof(InMemoryDataView).GetMethod(nameof(Typed), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(column.Type.RawType);
        return (Func<object?>)method.Invoke(null, [cursor, column])!;
    }

    private static Func<object?> Typed<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return value;
        };
    }

    private sealed class Cursor(InMemoryDataView view) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override bool MoveNext() => ++_position < view.RowCount;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            CheckGetterType<TValue>(column);
            return (ref TValue value) => value = (TValue)view._columns[column.Index][_position];
        }
    }
}

/// <summary>Base of the test stages: eager Transform over <see cref="InMemoryDataView"/>.</summary>
internal abstract class TestStage : ITransformer
{
    public bool IsDisposed { get; private set; }

    public abstract DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        return Apply((InMemoryDataView)input);
    }

    public abstract void Save(ModelSaveContext context);

    public virtual void Dispose() => IsDisposed = true;

    protected abstract InMemoryDataView Apply(InMemoryDataView input);

    protected static void Require(DataViewSchema schema, string name, DataViewType type)
    {
        var column = schema[name];
        if (!column.Type.Equals(type))
        {
            throw SchemaException.WrongType(name, type.ToString()!, column.Type);
        }
    }
}

/// <summary>Maps each character of a text column to its index in a vocabulary (JSON entry).</summary>
internal sealed class VocabStage(string input, string output, string[] vocabulary) : TestStage
{
    public const string Signature = "Test.Vocab";

    public string[] Vocabulary { get; } = vocabulary;

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Require(inputSchema, input, TextDataViewType.Instance);
        return new DataViewSchema.Builder().AddColumns(inputSchema)
            .AddColumn(output, new VectorDataViewType(NumberDataViewType.Int32), new Annotations.Builder().AddText(Annotations.Kinds.Vocabulary, Vocabulary).ToAnnotations())
            .ToSchema();
    }

    protected override InMemoryDataView Apply(InMemoryDataView data)
    {
        var values = new object[data.RowCount];
        for (int r = 0; r < values.Length; r++)
        {
            values[r] = ((string)data.Value(input, r)).Select(c => Math.Max(0, Array.IndexOf(Vocabulary, c.ToString()))).ToArray();
        }

        return data.With(output, new VectorDataViewType(NumberDataViewType.Int32), values);
    }

    public override void Save(ModelSaveContext context)
    {
        context.SetStage(Signature, 1, 1);
        context.WriteConfig(new Config(input, output));
        context.WriteJson("vocabulary", Vocabulary);
    }

    public static ITransformer Load(ModelLoadContext context)
    {
        var config = context.ReadConfig<Config>();
        return new VocabStage(config.InputColumn, config.OutputColumn, context.ReadJson<string[]>("vocabulary"));
    }

    internal sealed record Config(string InputColumn, string OutputColumn);
}

/// <summary>Score = W · Features + b, with W and b in a safetensors entry and a byte entry of notes.</summary>
internal sealed class AffineStage(string input, string output, float[,] weights, float[] bias) : TestStage
{
    public const string Signature = "Test.Affine";

    public float[,] Weights { get; } = weights; // (out, in)

    public float[] Bias { get; } = bias; // (out)

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Require(inputSchema, input, new VectorDataViewType(NumberDataViewType.Single, Weights.GetLength(1)));
        return new DataViewSchema.Builder().AddColumns(inputSchema)
            .AddColumn(output, new VectorDataViewType(NumberDataViewType.Single, Weights.GetLength(0))).ToSchema();
    }

    protected override InMemoryDataView Apply(InMemoryDataView data)
    {
        var values = new object[data.RowCount];
        for (int r = 0; r < values.Length; r++)
        {
            var x = (float[])data.Value(input, r);
            var y = new float[Weights.GetLength(0)];
            for (int o = 0; o < y.Length; o++)
            {
                float s = Bias[o];
                for (int i = 0; i < x.Length; i++)
                {
                    s += Weights[o, i] * x[i];
                }

                y[o] = s;
            }

            values[r] = y;
        }

        return data.With(output, new VectorDataViewType(NumberDataViewType.Single, Weights.GetLength(0)), values);
    }

    public override void Save(ModelSaveContext context)
    {
        context.SetStage(Signature, 1, 1);
        context.WriteConfig(new Config(input, output, Weights.GetLength(1), Weights.GetLength(0)));
        context.WriteTensors("weights", new Dictionary<string, TensorData>
        {
            ["w"] = new([Weights.GetLength(0), Weights.GetLength(1)], Weights.Cast<float>().ToArray()),
            ["b"] = new([Bias.Length], Bias),
        });
        context.WriteBytes("notes", "affine"u8);
    }

    public static ITransformer Load(ModelLoadContext context)
    {
        var config = context.ReadConfig<Config>();
        var tensors = context.ReadTensors("weights");
        var w = tensors["w"];
        var b = tensors["b"];
        if (!w.Shape.SequenceEqual([config.Outputs, config.Inputs]) || !b.Shape.SequenceEqual([config.Outputs]))
        {
            throw new ModelFormatException($"{context.Folder}weights.safetensors: shapes do not match the config.");
        }

        var weights = new float[config.Outputs, config.Inputs];
        Buffer.BlockCopy(w.Data, 0, weights, 0, w.Data.Length * sizeof(float));
        if (context.Contains("notes") && System.Text.Encoding.UTF8.GetString(context.ReadBytes("notes")) != "affine")
        {
            throw new ModelFormatException("bad notes");
        }

        return new AffineStage(config.InputColumn, config.OutputColumn, weights, b.Data);
    }

    internal sealed record Config(string InputColumn, string OutputColumn, int Inputs, int Outputs);
}

/// <summary>Applies its stages in order; saves them as nested stages "0000", "0001", ...</summary>
internal sealed class ChainStage(params ITransformer[] stages) : TestStage
{
    public const string Signature = "Test.Chain";

    public ITransformer[] Stages { get; } = stages;

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) =>
        Stages.Aggregate(inputSchema, (s, t) => t.GetOutputSchema(s));

    protected override InMemoryDataView Apply(InMemoryDataView input) =>
        Stages.Aggregate(input, (d, t) => (InMemoryDataView)t.Transform(d));

    public override void Save(ModelSaveContext context)
    {
        context.SetStage(Signature, 1, 1);
        context.WriteConfig(new Config(Stages.Length));
        for (int i = 0; i < Stages.Length; i++)
        {
            context.WriteStage($"{i:D4}", Stages[i]);
        }
    }

    public override void Dispose()
    {
        foreach (var s in Stages)
        {
            s.Dispose();
        }

        base.Dispose();
    }

    public static ITransformer Load(ModelLoadContext context)
    {
        var config = context.ReadConfig<Config>();
        return new ChainStage(Enumerable.Range(0, config.Count).Select(i => context.ReadStage($"{i:D4}")).ToArray());
    }

    internal sealed record Config(int Count);
}

/// <summary>An identity stage written with chosen versions; its loader (registered for versions up to 2) records what it saw.</summary>
internal sealed class VersionedStage(int version, int minReadable) : TestStage
{
    public const string Signature = "Test.Versioned";

    public int LoadedVersion { get; init; }

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

    protected override InMemoryDataView Apply(InMemoryDataView input) => input;

    public override void Save(ModelSaveContext context) => context.SetStage(Signature, version, minReadable);

    public static ITransformer Load(ModelLoadContext context) =>
        new VersionedStage(context.Version, context.MinReadableVersion) { LoadedVersion = context.Version };
}

/// <summary>An identity stage whose signature has no loader registered.</summary>
internal sealed class OrphanStage : TestStage
{
    public const string Signature = "Test.Orphan";

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

    protected override InMemoryDataView Apply(InMemoryDataView input) => input;

    public override void Save(ModelSaveContext context)
    {
        context.SetStage(Signature, 1, 1);
        context.WriteConfig(new { note = "nobody loads me" });
    }
}

/// <summary>Writes some entries, then throws from Save (a crash mid-save); or, loaded, throws a non-model error.</summary>
internal sealed class ThrowingStage : TestStage
{
    public const string Signature = "Test.Throwing";

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

    protected override InMemoryDataView Apply(InMemoryDataView input) => input;

    public bool ThrowOnSave { get; init; } = true;

    public override void Save(ModelSaveContext context)
    {
        context.SetStage(Signature, 1, 1);
        context.WriteTensors("big", new Dictionary<string, TensorData> { ["x"] = new([1024], new float[1024]) });
        if (ThrowOnSave)
        {
            throw new IOException("disk full (simulated)");
        }
    }

    public static ITransformer Load(ModelLoadContext context) =>
        throw new InvalidOperationException("loader bug (simulated)");
}

/// <summary>Builds the reference model and data used across the persistence tests.</summary>
internal static class TestModels
{
    public static readonly string[] Vocabulary = ["<unk>", "a", "b", "c", "d", "e", " "];

    public static DataViewSchema InputSchema { get; } = new DataViewSchema.Builder()
        .AddColumn("Text", TextDataViewType.Instance,
            new Annotations.Builder().AddText("Note", ["input", "text"]).AddInt32(Annotations.Kinds.Shape, [1]).ToAnnotations())
        .AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, 3))
        .AddColumn("Id", NumberDataViewType.Int64)
        .ToSchema();

    public static InMemoryDataView Input() => new(
        InputSchema,
        ["abc", "dead beef", "", "zz a"],
        [new[] { 1f, 2f, 3f }, new[] { -1f, 0.5f, 0f }, new[] { 0f, 0f, 0f }, new[] { 1e-3f, 7f, -2.25f }],
        [1L, 2L, 3L, 4L]);

    /// <summary>A chain of a vocabulary stage and an affine stage with seeded weights.</summary>
    public static ChainStage Chain(int seed = 1)
    {
        var rng = new Random(seed);
        var w = new float[2, 3];
        for (int o = 0; o < 2; o++)
        {
            for (int i = 0; i < 3; i++)
            {
                w[o, i] = (float)(rng.NextDouble() * 2 - 1);
            }
        }

        float[] b = [(float)rng.NextDouble(), (float)-rng.NextDouble()];
        return new ChainStage(new VocabStage("Text", "Tokens", Vocabulary), new AffineStage("Features", "Score", w, b));
    }

    public static byte[] SaveToBytes(ITransformer model, DataViewSchema? schema = null, DateTimeOffset? created = null)
    {
        var ml = new MLContext(seed: 1);
        using var stream = new MemoryStream();
        ml.Model.Save(model, schema ?? InputSchema, stream, new ModelSaveOptions { CreationTime = created ?? new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero) });
        return stream.ToArray();
    }

    public static ITransformer Load(byte[] zip, out DataViewSchema schema)
    {
        using var stream = new MemoryStream(zip, writable: false);
        return new MLContext(seed: 1).Model.Load(stream, out schema);
    }

    /// <summary>True when two outputs hold the same values (floats compared bit for bit).</summary>
    public static bool SameRows(List<object?[]> a, List<object?[]> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Length == p.Second.Length && p.First.Zip(p.Second).All(v => SameValue(v.First, v.Second)));

    private static bool SameValue(object? a, object? b) => (a, b) switch
    {
        (float[] x, float[] y) => x.AsSpan().SequenceEqual(y),
        (int[] x, int[] y) => x.AsSpan().SequenceEqual(y),
        (float x, float y) => BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y),
        _ => Equals(a, b),
    };
}
