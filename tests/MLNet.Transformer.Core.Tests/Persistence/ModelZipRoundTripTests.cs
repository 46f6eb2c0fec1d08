// Round trips of whole pipelines through the model .zip: outputs, layout, schema, determinism, registry, schema check.
using System.Text.Json.Nodes;
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

public sealed class ModelZipRoundTripTests
{
    [Fact]
    public void SaveLoad_NestedChain_ReproducesOutputsAndState()
    {
        using var model = TestModels.Chain(seed: 7);
        var expected = InMemoryDataView.ReadAll(model.Transform(TestModels.Input()));

        using var loaded = TestModels.Load(TestModels.SaveToBytes(model), out var schema);

        var actual = InMemoryDataView.ReadAll(loaded.Transform(TestModels.Input()));
        Assert.True(TestModels.SameRows(expected, actual));
        var chain = Assert.IsType<ChainStage>(Assert.IsType<LoadedModel>(loaded).Model);
        Assert.Equal(TestModels.Vocabulary, Assert.IsType<VocabStage>(chain.Stages[0]).Vocabulary);
        var affine = Assert.IsType<AffineStage>(chain.Stages[1]);
        Assert.Equal(model.Stages.OfType<AffineStage>().Single().Weights, affine.Weights);
        Assert.Equal(model.Stages.OfType<AffineStage>().Single().Bias, affine.Bias);
        Assert.Equal(3, schema.Count);
    }

    [Fact]
    public void SaveLoad_File_RoundTripsAndReplacesExisting()
    {
        string dir = Directory.CreateTempSubdirectory("mlt-zip-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.zip");
            var ml = new MLContext(seed: 1);
            using var first = TestModels.Chain(seed: 1);
            using var second = TestModels.Chain(seed: 2);
            ml.Model.Save(first, TestModels.InputSchema, path);
            ml.Model.Save(second, TestModels.InputSchema, path);

            using var loaded = ml.Model.Load(path, out _);

            var expected = InMemoryDataView.ReadAll(second.Transform(TestModels.Input()));
            Assert.True(TestModels.SameRows(expected, InMemoryDataView.ReadAll(loaded.Transform(TestModels.Input()))));
            Assert.Equal(["model.zip"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Save_Layout_MatchesDocumentedEntriesAndManifest()
    {
        using var model = TestModels.Chain();
        byte[] zip = TestModels.SaveToBytes(model);

        var names = ZipEdit.Entries(zip).Select(e => e.Name).ToList();
        string root = "stages/0000-Test.Chain/";
        Assert.Equal(
            [
                "schema.json",
                root + "stage.json", root + "config.json",
                root + "0000-Test.Vocab/stage.json", root + "0000-Test.Vocab/config.json", root + "0000-Test.Vocab/vocabulary.json",
                root + "0001-Test.Affine/stage.json", root + "0001-Test.Affine/config.json", root + "0001-Test.Affine/weights.safetensors",
                root + "0001-Test.Affine/notes.bin",
                "manifest.json",
            ],
            names);

        var manifest = JsonNode.Parse(ZipEdit.Text(zip, "manifest.json"))!;
        Assert.Equal("MLNet.Transformer.Model", (string)manifest["format"]!);
        Assert.Equal(1, (int)manifest["formatVersion"]!);
        Assert.Equal(1, (int)manifest["minReaderVersion"]!);
        Assert.Equal(root, (string)manifest["rootStage"]!);
        Assert.Equal("2024-01-02T03:04:05+00:00", (string)manifest["createdUtc"]!);
        Assert.False(string.IsNullOrEmpty((string)manifest["libraryVersion"]!));
        var listed = manifest["entries"]!.AsArray().Select(e => (string)e!["path"]!).ToList();
        Assert.Equal(names.Where(n => n != "manifest.json"), listed);
        foreach (var e in manifest["entries"]!.AsArray())
        {
            byte[] data = ZipEdit.Entries(zip).Single(x => x.Name == (string)e!["path"]!).Data;
            Assert.Equal(data.Length, (long)e!["size"]!);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), (string)e["sha256"]!);
        }

        var stage = JsonNode.Parse(ZipEdit.Text(zip, root + "0001-Test.Affine/stage.json"))!;
        Assert.Equal("Test.Affine", (string)stage["signature"]!);
        Assert.Equal(1, (int)stage["version"]!);
        Assert.Equal(1, (int)stage["minReadableVersion"]!);
        Assert.Equal("MLNet.Transformer.Core.Tests", (string)stage["assembly"]!);
        Assert.Contains("\n  \"inputColumn\": \"Features\"", ZipEdit.Text(zip, root + "0001-Test.Affine/config.json"), StringComparison.Ordinal);
    }

    [Fact]
    public void Save_SameModelTwice_ByteIdenticalWithPinnedTime()
    {
        using var model = TestModels.Chain();
        byte[] a = TestModels.SaveToBytes(model);
        byte[] b = TestModels.SaveToBytes(model);
        byte[] c = TestModels.SaveToBytes(model, created: new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero));

        Assert.Equal(a, b);
        var ea = ZipEdit.Entries(a);
        var ec = ZipEdit.Entries(c);
        Assert.Equal(ea.Select(e => e.Name), ec.Select(e => e.Name));
        Assert.All(ea.Zip(ec).Where(p => p.First.Name != "manifest.json"), p => Assert.Equal(p.First.Data, p.Second.Data));
    }

    [Fact]
    public void Load_Schema_RoundTripsTypesAnnotationsAndHiddenColumns()
    {
        var schema = new DataViewSchema.Builder()
            .AddColumn("A", NumberDataViewType.Int32)
            .AddColumn("Vec", new VectorDataViewType(NumberDataViewType.Single, 2, 3),
                new Annotations.Builder()
                    .AddText(Annotations.Kinds.ShapeAxes, ["Row", "Col"])
                    .AddInt32(Annotations.Kinds.Shape, [2, 3])
                    .Add("Scale", NumberDataViewType.Double, 0.5)
                    .Add("Nan", new VectorDataViewType(NumberDataViewType.Single, 2), new[] { float.NaN, 1.5f })
                    .ToAnnotations())
            .AddColumn("Var", new VectorDataViewType(TextDataViewType.Instance))
            .AddColumn("A", BooleanDataViewType.Instance)
            .AddColumn("L", NumberDataViewType.Int64)
            .ToSchema();
        using var model = new VersionedStage(1, 1);

        using var _ = TestModels.Load(TestModels.SaveToBytes(model, schema), out var loaded);

        Assert.Equal(schema.Select(c => (c.Name, c.Type, c.IsHidden)), loaded.Select(c => (c.Name, c.Type, c.IsHidden)));
        var ann = loaded["Vec"].Annotations;
        Assert.Equal(["Row", "Col"], ann.GetValue<string[]>(Annotations.Kinds.ShapeAxes));
        Assert.Equal([2, 3], ann.GetValue<int[]>(Annotations.Kinds.Shape));
        Assert.Equal(0.5, ann.GetValue<double>("Scale"));
        Assert.True(float.IsNaN(ann.GetValue<float[]>("Nan")[0]));
        Assert.Equal(new VectorDataViewType(TextDataViewType.Instance, 2), ann.GetTypeOrNull(Annotations.Kinds.ShapeAxes));
    }

    [Fact]
    public void Load_StageVersionNewerButReadable_PassesVersionToLoader()
    {
        using var loaded = TestModels.Load(TestModels.SaveToBytes(new VersionedStage(version: 5, minReadable: 2)), out _);

        Assert.Equal(5, Assert.IsType<VersionedStage>(((LoadedModel)loaded).Model).LoadedVersion);
    }

    [Fact]
    public void Transform_LoadedModelWithMissingColumn_ThrowsSchemaExceptionNamingColumn()
    {
        using var loaded = TestModels.Load(TestModels.SaveToBytes(TestModels.Chain()), out _);
        var input = TestModels.Input();
        var withoutId = new InMemoryDataView(
            new DataViewSchema.Builder().AddColumns(input.Schema.Take(2)).ToSchema(),
            [.. Enumerable.Range(0, 4).Select(r => input.Value("Text", r))],
            [.. Enumerable.Range(0, 4).Select(r => input.Value("Features", r))]);

        var ex = Assert.Throws<SchemaException>(() => loaded.Transform(withoutId));

        Assert.Equal("Id", ex.ColumnName);
        Assert.Contains("'Id' (Int64)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<SchemaException>(() => loaded.GetOutputSchema(withoutId.Schema));
    }

    [Fact]
    public void CheckCompatible_WrongType_ThrowsSchemaExceptionNamingColumnAndTypes()
    {
        var actual = new DataViewSchema.Builder()
            .AddColumn("Text", TextDataViewType.Instance)
            .AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, 4))
            .AddColumn("Id", NumberDataViewType.Int64)
            .ToSchema();

        var ex = Assert.Throws<SchemaException>(() => TestModels.InputSchema.CheckCompatible(actual));

        Assert.Equal("Features", ex.ColumnName);
        Assert.Contains("Vector<Single, 4>", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Vector<Single, 3>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckCompatible_ExtraColumns_Passes()
    {
        var actual = new DataViewSchema.Builder().AddColumns(TestModels.InputSchema).AddColumn("Extra", NumberDataViewType.Double).ToSchema();

        TestModels.InputSchema.CheckCompatible(actual);
    }

    [Fact]
    public void Save_LoadedModel_SavesTheSameBytes()
    {
        using var model = TestModels.Chain();
        byte[] zip = TestModels.SaveToBytes(model);
        using var loaded = TestModels.Load(zip, out var schema);

        Assert.Equal(zip, TestModels.SaveToBytes(loaded, schema));
    }

    [Fact]
    public void Dispose_LoadedModel_DisposesStages()
    {
        var loaded = TestModels.Load(TestModels.SaveToBytes(TestModels.Chain()), out _);
        var chain = (ChainStage)((LoadedModel)loaded).Model;

        loaded.Dispose();

        Assert.True(chain.IsDisposed);
        Assert.All(chain.Stages, s => Assert.True(((TestStage)s).IsDisposed));
    }

    [Fact]
    public void Register_SameLoaderTwice_IsIdempotent_OtherLoaderThrows()
    {
        ModelLoaderRegistry.Register(VocabStage.Signature, VocabStage.Load, supportedVersion: 1);

        var ex = Assert.Throws<InvalidOperationException>(() => ModelLoaderRegistry.Register(VocabStage.Signature, AffineStage.Load, 1));
        Assert.Contains("Test.Vocab", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelLoaderRegistry.Register("bad-signature", VocabStage.Load));
        Assert.True(ModelLoaderRegistry.IsRegistered(VocabStage.Signature));
    }

    [Fact]
    public void Register_ConcurrentRegistrations_AllVisible()
    {
        var signatures = Enumerable.Range(0, 64).Select(i => $"Test.Concurrent{i}").ToArray();

        Parallel.ForEach(signatures, s =>
        {
            ModelLoaderRegistry.Register(s, VocabStage.Load);
            ModelLoaderRegistry.Register(s, VocabStage.Load);
        });

        Assert.All(signatures, s => Assert.True(ModelLoaderRegistry.IsRegistered(s)));
        Assert.All(signatures, s => ModelLoaderRegistry.Unregister(s));
    }

    [Fact]
    public void Save_StageWithoutSetStage_ThrowsInvalidOperation()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TestModels.SaveToBytes(new NoSetStage()));

        Assert.Contains("SetStage", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_DuplicateOrInvalidEntryNames_Throw()
    {
        Assert.Throws<InvalidOperationException>(() => TestModels.SaveToBytes(new DelegateStage(c =>
        {
            c.SetStage("Test.Dup", 1, 1);
            c.WriteJson("vocabulary", 1);
            c.WriteJson("vocabulary", 2);
        })));
        Assert.Throws<ArgumentException>(() => TestModels.SaveToBytes(new DelegateStage(c =>
        {
            c.SetStage("Test.Dup", 1, 1);
            c.WriteJson("../evil", 1);
        })));
        Assert.Throws<ArgumentException>(() => TestModels.SaveToBytes(new DelegateStage(c =>
        {
            c.SetStage("Test.Dup", 1, 1);
            c.WriteTensors("t", new Dictionary<string, TensorData> { ["x"] = new([2, 2], new float[3]) });
        })));
    }

    private sealed class NoSetStage : TestStage
    {
        public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public override void Save(ModelSaveContext context) { }

        protected override InMemoryDataView Apply(InMemoryDataView input) => input;
    }

    private sealed class DelegateStage(Action<ModelSaveContext> save) : TestStage
    {
        public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public override void Save(ModelSaveContext context) => save(context);

        protected override InMemoryDataView Apply(InMemoryDataView input) => input;
    }
}
