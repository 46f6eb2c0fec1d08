// Generation from a fitted next-character model: greedy and sampled decoding, seeds, prefixes, stopping at EOS.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public sealed class GenerationTests : IClassFixture<GenerationTests.Model>
{
    private readonly NextCharacterPredictionTransformer _model;

    public GenerationTests(Model fixture) => _model = fixture.Transformer;

    [Fact]
    public void Generate_SameSeed_SameSamples_OtherSeedDiffers()
    {
        var o = new GenerationOptions { Count = 8, Temperature = 1f, Seed = 5 };
        Assert.Equal(_model.Generate(o), _model.Generate(o));
        Assert.NotEqual(_model.Generate(o), _model.Generate(o with { Seed = 6 }));
    }

    [Fact]
    public void Generate_TemperatureZero_IsGreedyAndEqualsTopOne()
    {
        var greedy = _model.Generate(new GenerationOptions { Count = 3, Temperature = 0, Prefix = "ca" });
        Assert.Single(greedy.Distinct());
        var topOne = _model.Generate(new GenerationOptions { Count = 3, Temperature = 1.5f, TopK = 1, Prefix = "ca", Seed = 9 });
        Assert.Equal(greedy, topOne);

        // Greedy decoding follows the argmax of the model's own next-character distribution, step by step.
        string word = greedy[0];
        var ml = new MLContext(1);
        for (int i = 2; i < word.Length; i++)
        {
            string prefix = word[..i];
            var scored = _model.Transform(NamesData.View(ml, [prefix]));
            Assert.Equal(word[i].ToString(), NamesData.Column<string>(scored, NextCharacterColumns.PredictedNextChar)[0]);
        }
    }

    [Fact]
    public void Generate_PrefixAndLength_AreRespected_OnlyVocabularyCharacters()
    {
        var words = _model.Generate(new GenerationOptions { Count = 20, Prefix = "ba", MaximumLength = 4, Seed = 1 });
        var letters = _model.Info.Vocabulary.Where(t => t.Length == 1).ToHashSet();
        Assert.All(words, w =>
        {
            Assert.StartsWith("ba", w, StringComparison.Ordinal);
            Assert.InRange(w.Length, 2, 6);
            Assert.All(w, c => Assert.Contains(c.ToString(), letters));
        });
    }

    [Fact]
    public void Generate_TopK_SamplesOnlyAmongTheKMostProbable()
    {
        // After "q" the model's two most probable next tokens bound every sampled second character.
        var ml = new MLContext(1);
        var scored = _model.Transform(NamesData.View(ml, ["q"]));
        float[] p = NamesData.Column<float[]>(scored, NextCharacterColumns.Score)[0];
        var top2 = p.Select((x, i) => (x, i)).Where(t => _model.Info.Vocabulary[t.i] is not ("<PAD>" or "<BOS>"))
            .OrderByDescending(t => t.x).Take(2).Select(t => _model.Info.Vocabulary[t.i]).ToHashSet();
        var words = _model.Generate(new GenerationOptions { Count = 40, Prefix = "q", TopK = 2, Temperature = 2f, Seed = 3 });
        Assert.All(words, w => Assert.Contains(w.Length > 1 ? w[1].ToString() : "<EOS>", top2));
    }

    [Theory]
    [InlineData(0f, 0, "")]
    [InlineData(1f, 0, "ma")]
    [InlineData(1.3f, 4, "b")]
    public void Generate_WithAndWithoutCache_GiveTheSameSamples(float temperature, int topK, string prefix)
    {
        // The key/value cache changes only float rounding (parity tested at 1e-5), so seeded samples are identical.
        var cached = new GenerationOptions { Count = 12, Temperature = temperature, TopK = topK, Prefix = prefix, Seed = 11, MaximumLength = 20 };
        var samples = _model.Generate(cached);
        Assert.Equal(samples, _model.Generate(cached with { UseCache = false }));
        Assert.Contains(samples, s => s.Length > prefix.Length + 2);
    }

    [Fact]
    public void Generate_WithCallback_StreamsThePrefixThenEachCharacter()
    {
        var pieces = new List<(int Sample, string Text)>();
        var samples = _model.Generate(new GenerationOptions { Count = 3, Prefix = "ka", Seed = 2 }, (i, text) => pieces.Add((i, text)));
        Assert.Equal([0, 1, 2], pieces.Select(p => p.Sample).Distinct());
        for (int i = 0; i < samples.Count; i++)
        {
            var mine = pieces.Where(p => p.Sample == i).Select(p => p.Text).ToList();
            Assert.Equal("ka", mine[0]);                                   // the prefix first
            Assert.All(mine.Skip(1), t => Assert.Single(t));               // then one character at a time
            Assert.Equal(samples[i], string.Concat(mine));
        }
    }

    [Fact]
    public void Generate_InvalidOptions_ThrowNamingTheOption()
    {
        Assert.Contains("Count", Assert.Throws<ArgumentException>(() => _model.Generate(new GenerationOptions { Count = 0 })).Message, StringComparison.Ordinal);
        Assert.Contains("Temperature", Assert.Throws<ArgumentException>(() => _model.Generate(new GenerationOptions { Temperature = -1 })).Message, StringComparison.Ordinal);
        Assert.Contains("TopK", Assert.Throws<ArgumentException>(() => _model.Generate(new GenerationOptions { TopK = -2 })).Message, StringComparison.Ordinal);
    }

    /// <summary>One small model trained once for the class (deterministic: fixed seed).</summary>
    public sealed class Model
    {
        public Model()
        {
            var ml = new MLContext(1);
            Transformer = NamesData.Trainer(ml, NamesData.MiniFormer(epochs: 8, seed: 3)).Fit(NamesData.View(ml, NamesData.All));
        }

        public NextCharacterPredictionTransformer Transformer { get; }
    }
}
