// A checkpoint written by the engine loads into PyTorch 1.13 (python/checkpoint_reference.py): the weights with
// load_state_dict(strict=True), the Adam moments and step into torch.optim.Adam's own state_dict. The logits match,
// and one more Adam step in torch (on the engine's gradients) gives the engine's weights after its next step.

using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.Engine.Tests;

public class CheckpointPyTorchTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;
    private const float LearningRate = 1e-3f;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checkpoint_LoadedIntoPyTorchStrict_SameLogitsAndNextAdamStep(bool normFirst)
    {
        var config = SmallModels.SmallDecoder(seed: 11) with { Heads = 2, NormFirst = normFirst, Dropout = 0f };
        using var model = TransformerModel.Create(config);
        var rng = new Random(21);
        var batch = TestModels.Batch(config, rng, [6, 4, 3], 6);
        for (int i = 0; i < 3; i++)
        {
            model.TrainStep(TestModels.Batch(config, rng, [6, 5, 2], 6), LearningRate);
        }

        using var temp = new PyTorchWorkspace();
        string dir = Path.Combine(temp.Directory, "ckpt");
        new Checkpoint
        {
            Architecture = config,
            Tokenizer = new CheckpointTokenizer { Vocabulary = [.. Enumerable.Range(0, config.VocabSize).Select(i => $"t{i}")] },
            Weights = model.ExportState().AsReadOnly(),
            Optimizer = model.ExportOptimizerState(),
            RandomState = model.ExportRandomState(),
        }.Save(dir);

        var logits = model.Forward(batch).Logits!.GetArray();
        model.TrainStep(batch, LearningRate);
        var gradients = model.StateInfo.Select(t => KeyValuePair.Create(t.Name, (t.Shape.ToArray(), model.ReadState(t.Name, gradient: true))));
        temp.WriteTensors("grad_native", gradients);
        temp.WriteJson("case", new { B = batch.BatchSize, T = batch.TargetLength, tokens = batch.Tokens.ToArray(), targets = batch.Targets.ToArray(), lr = LearningRate });
        PyTorchReference.Run(Script, temp, null, dir);

        var reference = temp.ReadTensors("out");
        double logitDiff = SmallModels.MaxDiff(reference["logits"].Data, logits);
        output.WriteLine($"logits max |diff| {logitDiff:E2}");
        Assert.True(logitDiff <= Tolerance, $"logits differ by {logitDiff:E3}");
        foreach (var info in model.StateInfo)
        {
            double diff = SmallModels.MaxDiff(reference["after." + info.Name].Data, model.ReadState(info.Name));
            Assert.True(diff <= Tolerance, $"{info.Name} after the next Adam step differs by {diff:E3}");
        }
    }

    private static string Script => RepoPaths.Combine("tests", "MLNet.Transformer.Engine.Tests", "python", "checkpoint_reference.py");
}
