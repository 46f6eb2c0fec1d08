// Search-space declaration (attributes and builder), materialisation, constraints and parameter-set keys.
using MLNet.Transformer.AutoML;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public class SearchSpaceTests
{
    [Fact]
    public void FromAttributes_OptionsClass_ParsesEveryDeclaredParameterInOrder()
    {
        var space = SweepSearchSpace.FromAttributes<FakeModelOptions>();

        Assert.Equal(["Heads", "Layers", "LearningRate", "Activation", "NormFirst", "Kind", "Dropout"], space.Parameters.Select(p => p.Name));

        var heads = Assert.IsType<ChoiceParameter>(space.Parameters[0]);
        Assert.Equal([1, 2, 4, 8], heads.Values.Cast<int>());

        var layers = Assert.IsType<IntRangeParameter>(space.Parameters[1]);
        Assert.Equal((1L, 4L, false), (layers.Min, layers.Max, layers.LogScale));

        var lr = Assert.IsType<FloatRangeParameter>(space.Parameters[2]);
        Assert.True(lr.LogScale);
        Assert.Equal(typeof(float), lr.ValueType);
        Assert.Equal(1e-4, lr.Min);
        Assert.Equal(3e-3, lr.Max);
        Assert.Equal(3, lr.GridSteps);

        Assert.Equal(["relu", "gelu"], Assert.IsType<ChoiceParameter>(space.Parameters[3]).Values.Cast<string>());
        Assert.Equal([true, false], Assert.IsType<ChoiceParameter>(space.Parameters[4]).Values.Cast<bool>());
        Assert.Equal([FakeActivation.Relu, FakeActivation.Gelu], Assert.IsType<ChoiceParameter>(space.Parameters[5]).Values.Cast<FakeActivation>());

        var dropout = Assert.IsType<FloatRangeParameter>(space.Parameters[6]);
        Assert.False(dropout.LogScale);
        Assert.Null(dropout.GridSteps);
    }

    [Fact]
    public void Create_FluentBuilder_DeclaresTheSameKindsAsAttributes()
    {
        var space = SweepSearchSpace.Create<PlainOptions>()
            .Choice(o => o.Heads, 1, 2, 4)
            .Range(o => o.Layers, 1, 3)
            .LogUniform(o => o.LearningRate, 1e-4, 3e-3)
            .Constraint("heads must divide dim", o => o.Dim % o.Heads == 0);

        Assert.Equal(["Heads", "Layers", "LearningRate"], space.Parameters.Select(p => p.Name));
        Assert.Equal(SearchParameterKind.Choice, space.Parameters[0].Kind);
        Assert.Equal(SearchParameterKind.DiscreteRange, space.Parameters[1].Kind);
        Assert.Equal(SearchParameterKind.ContinuousRange, space.Parameters[2].Kind);
        Assert.True(space.Parameters[2].LogScale);
        Assert.Equal(["heads must divide dim"], space.Constraints);
        Assert.Equal([1, 2, 3], space.Parameters[1].GetGridValues().Cast<int>());
    }

    [Fact]
    public void Range_DeclaredTwice_ReplacesTheEarlierDeclarationInPlace()
    {
        var space = SweepSearchSpace.FromAttributes<FakeModelOptions>().Range(o => o.Heads, 1, 2);

        Assert.Equal("Heads", space.Parameters[0].Name);
        Assert.IsType<IntRangeParameter>(space.Parameters[0]);
        Assert.Equal(7, space.Parameters.Count);
    }

    [Fact]
    public void Materialize_ParameterSet_ClonesBaseAndWritesValuesWithoutTouchingBase()
    {
        var baseOptions = new FakeModelOptions { Dim = 48, Heads = 1 };
        var space = SweepSearchSpace.FromAttributes(baseOptions).Range(o => o.Model.Width, 8, 64, step: 8);
        var set = new ParameterSet(new Dictionary<string, object>
        {
            ["Heads"] = 4, ["Layers"] = 2, ["LearningRate"] = 0.001f, ["Activation"] = "gelu",
            ["NormFirst"] = true, ["Kind"] = FakeActivation.Gelu, ["Dropout"] = 0.1, ["Model.Width"] = 32,
        });

        var options = space.Materialize(set);

        Assert.NotSame(baseOptions, options);
        Assert.Equal((4, 2, 0.001f, "gelu", true, FakeActivation.Gelu, 0.1, 48), (options.Heads, options.Layers, options.LearningRate,
            options.Activation, options.NormFirst, options.Kind, options.Dropout, options.Dim));
        Assert.Equal(32, options.Model.Width);
        Assert.NotSame(baseOptions.Model, options.Model);
        Assert.Equal((1, 8), (baseOptions.Heads, baseOptions.Model.Width));
    }

    [Fact]
    public void Key_MixedValues_IsStableAndInvariant()
    {
        var set = new ParameterSet(new Dictionary<string, object> { ["Heads"] = 4, ["Layers"] = 2, ["LearningRate"] = 0.001f });
        Assert.Equal("Heads=4,Layers=2,LearningRate=0.001", set.Key);

        var text = new ParameterSet(new Dictionary<string, object> { ["Name"] = "a,b=c", ["On"] = false, ["Rate"] = 0.1 });
        Assert.Equal("Name=a\\,b\\=c,On=false,Rate=0.1", text.Key);
        Assert.Equal(set, new ParameterSet(new Dictionary<string, object> { ["Heads"] = 4, ["Layers"] = 2, ["LearningRate"] = 0.001f }));
    }

    [Fact]
    public void ParseKey_KeysOfSampledSets_RoundTripToEqualTypedSets()
    {
        var space = SweepSearchSpace.FromAttributes<FakeModelOptions>();
        var tuner = new RandomTuner();
        tuner.Initialize(space, 21, TunerObjective.Minimize);
        for (int i = 0; i < 50; i++)
        {
            var set = tuner.Propose([])!;
            var parsed = space.ParseKey(set.Key);
            Assert.Equal(set, parsed);
            Assert.Equal(set.Select(kv => kv.Value.GetType()), parsed.Select(kv => kv.Value.GetType()));
            Assert.Equal(set.Select(kv => kv.Value), parsed.Select(kv => kv.Value));
        }

        Assert.Throws<TransformerArgumentException>(() => space.ParseKey("Heads=4"));
        Assert.Throws<TransformerArgumentException>(() => SweepSearchSpace.Create<PlainOptions>().Choice(o => o.Heads, 1, 2).ParseKey("Heads=x"));
        Assert.Throws<TransformerArgumentException>(() => SweepSearchSpace.Create<PlainOptions>().Choice(o => o.Heads, 1, 2).ParseKey("Heads=1,Other=2"));
    }

    [Fact]
    public void FindViolation_HeadsNotDividingDim_NamesTheConstraint()
    {
        var space = Spaces.HeadsLayers(dim: 12);
        var bad = new ParameterSet(new Dictionary<string, object> { ["Heads"] = 8, ["Layers"] = 1 });
        var good = new ParameterSet(new Dictionary<string, object> { ["Heads"] = 4, ["Layers"] = 1 });

        Assert.Contains("heads must divide dim", space.FindViolation(bad));
        Assert.Null(space.FindViolation(good));
    }

    [Fact]
    public void Sample_LogUniformRange_StaysInRangeAndCoversDecades()
    {
        var space = SweepSearchSpace.Create<PlainOptions>().LogUniform(o => o.LearningRate, 1e-4, 1e-2);
        var tuner = new RandomTuner(avoidDuplicates: false);
        tuner.Initialize(space, 3, TunerObjective.Minimize);

        var values = Enumerable.Range(0, 600).Select(_ => (double)(float)tuner.Propose([])!["LearningRate"]).ToList();

        Assert.All(values, v => Assert.InRange(v, 1e-4 * 0.999, 1e-2 * 1.001));
        int lowDecade = values.Count(v => v < 1e-3);

        // Log-uniform: half the draws fall in the lower decade (a uniform draw would put ~9% there).
        Assert.InRange(lowDecade, 240, 360);
    }

    [Fact]
    public void FromAttributes_RangeOnStringProperty_ThrowsNamingTheProperty()
    {
        var e = Assert.Throws<TransformerArgumentException>(() => SweepSearchSpace.FromAttributes<BadRangeOptions>());
        Assert.Contains("Name", e.Message);
    }

    [Fact]
    public void Choice_ValueOfWrongType_ThrowsNamingTheProperty()
    {
        var e = Assert.Throws<TransformerArgumentException>(() => SweepSearchSpace.FromAttributes<BadChoiceOptions>());
        Assert.Contains("Heads", e.Message);
    }

    [Fact]
    public void LogUniform_NonPositiveMin_Throws()
    {
        Assert.Throws<TransformerArgumentException>(() => SweepSearchSpace.Create<PlainOptions>().LogUniform(o => o.LearningRate, 0, 1));
    }

    [Fact]
    public void GetGridValues_ContinuousRangeWithoutSteps_ThrowsAskingForGridPoints()
    {
        var space = SweepSearchSpace.Create<PlainOptions>().Uniform(o => o.LearningRate, 0, 1);
        var e = Assert.Throws<TransformerArgumentException>(() => new GridTuner().Initialize(space, 0, TunerObjective.Minimize));
        Assert.Contains("LearningRate", e.Message);
        Assert.Null(space.GridSize);
    }

    [Fact]
    public void GetGridValues_LogRangeWithSteps_SpreadsEvenlyInLogSpace()
    {
        var space = SweepSearchSpace.Create<PlainOptions>().LogUniform(o => o.LearningRate, 1e-4, 1e-2, gridSteps: 3);
        var values = space.Parameters[0].GetGridValues().Cast<float>().ToArray();
        Assert.Equal(3, values.Length);
        Assert.Equal(1e-4, values[0], 1e-9);
        Assert.Equal(1e-3, values[1], 1e-8);
        Assert.Equal(1e-2, values[2], 1e-7);
    }

    private sealed class BadRangeOptions
    {
        [SearchRange(1, 3)]
        public string Name { get; set; } = "x";
    }

    private sealed class BadChoiceOptions
    {
        [SearchChoice(1, "two")]
        public int Heads { get; set; }
    }
}
