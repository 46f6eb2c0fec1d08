// Parity of the native engine with PyTorch 1.13 (python/reference.py): logits and per-head attention of an
// evaluation forward, the loss, every gradient of one training step, and the weights after one optimiser step.
// Weights are a fresh native initialisation each run; every failure message names the seed (set
// MLT_PARITY_SEED to replay it).
// The optimiser step is replayed in torch on the engine's gradients (see reference.py for why), except with
// clipping, where torch's own gradients are used.

using System.Globalization;
using System.Text.Json;
using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.Engine.Tests;

public class ParityTests(ITestOutputHelper output)
{
    private const double ForwardTolerance = 1e-5;   // logits and attention weights
    private const double GradientTolerance = 1e-4;  // gradients after loss.backward()
    private const double StepTolerance = 1e-5;      // weights after one optimiser step
    private const float LearningRate = 1e-3f;

    private static readonly Dictionary<string, TransformerModelConfig> Architectures = new()
    {
        ["decoder_postln_h1_relu"] = SmallModels.SmallDecoder() with { Heads = 1, NormFirst = false, Activation = Activation.Relu },
        ["decoder_postln_h4_gelu"] = SmallModels.SmallDecoder() with { Heads = 4, NormFirst = false, Activation = Activation.Gelu },
        ["decoder_preln_h1_relu_pad3"] = SmallModels.SmallDecoder() with { Heads = 1, NormFirst = true, Activation = Activation.Relu, PadId = 3 },
        ["decoder_preln_h4_gelu"] = SmallModels.SmallDecoder() with { Heads = 4, NormFirst = true, Activation = Activation.Gelu },
        ["encdec_postln_h4_relu"] = SmallModels.SmallEncoderDecoder() with { NormFirst = false, Activation = Activation.Relu },
        ["encdec_preln_h4_gelu"] = SmallModels.SmallEncoderDecoder() with { NormFirst = true, Activation = Activation.Gelu },
        ["encdec_postln_h4_gelu_causal_both_srcvocab13"] = SmallModels.SmallEncoderDecoder() with
        {
            NormFirst = false, Activation = Activation.Gelu, CausalEncoder = true, CausalCross = true, SourceVocabSize = 13,
        },
        ["encdec_preln_h4_relu_causal_both"] = SmallModels.SmallEncoderDecoder() with
        {
            NormFirst = true, Activation = Activation.Relu, CausalEncoder = true, CausalCross = true,
        },
        ["encdec_postln_h4_relu_causal_encoder"] = SmallModels.SmallEncoderDecoder() with { NormFirst = false, CausalEncoder = true },
        ["encdec_preln_h4_gelu_causal_cross"] = SmallModels.SmallEncoderDecoder() with
        {
            NormFirst = true, Activation = Activation.Gelu, CausalCross = true,
        },
    };

    private static readonly Dictionary<string, OptimizerSettings> Optimizers = new()
    {
        ["adam"] = new OptimizerSettings(),
        ["adam_l2"] = new OptimizerSettings { WeightDecay = 0.01f, Beta1 = 0.8f, Beta2 = 0.99f },
        ["adamw"] = new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0.1f },
        // eps 1e-3 makes the first step scale with the (clipped) gradient, so clipping is visible in the weights.
        ["adam_clipped"] = new OptimizerSettings { ClipGradNorm = 0.05f, Epsilon = 1e-3f },
    };

    public static TheoryData<string> ArchitectureNames() => [.. Architectures.Keys];

    public static TheoryData<string> OptimizerNames() => [.. Optimizers.Keys];

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void ForwardGradientsAndAdamStep_Architecture_MatchPyTorch(string name)
    {
        var result = RunCase(name, Architectures[name], new OptimizerSettings());
        result.AssertForward();
        result.AssertLoss();
        result.AssertGradients();
        result.AssertStep();
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void OptimizerStep_Settings_MatchTorchOptim(string name)
    {
        var config = SmallModels.SmallDecoder() with { Heads = 2, NormFirst = true, Activation = Activation.Gelu };
        var result = RunCase("optimizer_" + name, config, Optimizers[name]);
        result.AssertLoss();
        result.AssertStep();
    }

    private CaseResult RunCase(string name, TransformerModelConfig architecture, OptimizerSettings optimizer)
    {
        var seed = SmallModels.RunSeed();
        output.WriteLine($"case {name}: native initialisation seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var config = architecture with { Seed = seed, Dropout = 0f };
        using var model = TransformerModel.Create(config);
        model.SetOptimizer(optimizer);

        // Fixed batch per case: rows of different lengths, right-padded; sources likewise.
        var rng = new Random(name.Length * 7919);
        var encoderDecoder = config.Kind == ModelKind.EncoderDecoder;
        var batch = encoderDecoder
            ? TestModels.Batch(config, rng, [7, 5, 3], 7, [6, 4, 2], 6)
            : TestModels.Batch(config, rng, [7, 5, 3], 7);

        var initial = model.ExportState();
        var forward = model.Forward(batch, ForwardOutputs.All);
        var (lossSum, count) = model.EvaluateLoss(batch);
        var step = model.TrainStep(batch, LearningRate);
        var gradients = model.StateInfo.ToDictionary(t => t.Name, t => model.ReadState(t.Name, gradient: true));
        var after = model.ExportState();

        using var workspace = new PyTorchWorkspace();
        workspace.WriteTensors("state_in", initial);
        workspace.WriteTensors("grad_native", model.StateInfo.Select(t => KeyValuePair.Create(t.Name, (t.Shape.ToArray(), gradients[t.Name]))));
        workspace.WriteJson("case", new
        {
            config = new
            {
                kind = encoderDecoder ? "encoder_decoder" : "decoder",
                vocab_size = config.VocabSize,
                src_vocab_size = config.SourceVocabSize,
                d_model = config.ModelDim,
                n_heads = config.Heads,
                n_layers = config.Layers,
                n_encoder_layers = config.EncoderLayers,
                d_ff = config.FeedForwardDim,
                max_len = config.MaxLength,
                pad_id = config.PadId,
                activation = config.Activation == Activation.Gelu ? "gelu" : "relu",
                norm_first = config.NormFirst,
                causal_encoder = config.CausalEncoder,
                causal_cross = config.CausalCross,
                eps = config.LayerNormEps,
            },
            B = batch.BatchSize,
            T = batch.TargetLength,
            S = batch.SourceLength,
            tokens = batch.Tokens.ToArray(),
            targets = batch.Targets.ToArray(),
            source = batch.Source.ToArray(),
            optimizer = new
            {
                kind = optimizer.Kind == OptimizerKind.AdamW ? "adamw" : "adam",
                lr = LearningRate,
                beta1 = optimizer.Beta1,
                beta2 = optimizer.Beta2,
                eps = optimizer.Epsilon,
                weight_decay = optimizer.WeightDecay,
                clip_grad_norm = optimizer.ClipGradNorm,
            },
        });
        PyTorchReference.Run(ReferenceScript, workspace);
        var reference = workspace.ReadTensors("out");
        using var json = workspace.ReadJson("result");
        var r = json.RootElement;
        output.WriteLine($"torch {r.GetProperty("torch_version").GetString()}; explicit-vs-layer forward: " +
                         string.Join(", ", r.GetProperty("layer_checks").EnumerateArray().Select(c => $"{c.GetProperty("layer").GetString()} {c.GetProperty("max_abs_diff").GetDouble():E1}")) +
                         $"; optimiser step taken on the {r.GetProperty("step_gradients").GetString()}'s gradients");
        return new CaseResult(output, $"case {name}, seed {seed} (replay with MLT_PARITY_SEED={seed})", model.StateInfo.Select(t => t.Name).ToList(), forward, (lossSum, count), step, gradients, after, reference, r.Clone());
    }

    private static string ReferenceScript => RepoPaths.Combine("tests", "MLNet.Transformer.Engine.Tests", "python", "reference.py");

    private sealed record CaseResult(
        ITestOutputHelper Output,
        string Replay,
        List<string> Names,
        ForwardResult Forward,
        (double Sum, long Count) Eval,
        TrainStepResult Step,
        Dictionary<string, float[]> Gradients,
        IDictionary<string, (long[] Shape, float[] Data)> After,
        Dictionary<string, (long[] Shape, float[] Data)> Reference,
        JsonElement Result)
    {
        public void AssertForward()
        {
            Compare("logits", Forward.Logits, ForwardTolerance);
            Compare("self_attn", Forward.SelfAttention, ForwardTolerance);
            Compare("enc_attn", Forward.EncoderAttention, ForwardTolerance);
            Compare("cross_attn", Forward.CrossAttention, ForwardTolerance);
        }

        public void AssertLoss()
        {
            var loss = Result.GetProperty("loss").GetDouble();
            var sum = Result.GetProperty("loss_sum").GetDouble();
            var count = Result.GetProperty("count").GetInt64();
            var gradNorm = Result.GetProperty("grad_norm").GetDouble();
            Output.WriteLine($"loss native {Step.Loss:R} torch {loss:R}; eval sum native {Eval.Sum:R}/{Eval.Count} torch {sum:R}/{count}; grad norm native {Step.GradNorm:R} torch {gradNorm:R}");
            Assert.True(Math.Abs(Step.Loss - loss) <= ForwardTolerance, $"train loss: native {Step.Loss:R}, torch {loss:R}; {Replay}");
            Assert.True(count == Eval.Count, $"eval count: native {Eval.Count}, torch {count}; {Replay}");
            Assert.True(Math.Abs(Eval.Sum - sum) <= ForwardTolerance * count, $"eval loss sum: native {Eval.Sum:R}, torch {sum:R}; {Replay}");
            Assert.True(Math.Abs(Step.GradNorm - gradNorm) <= GradientTolerance * Math.Max(1, gradNorm), $"grad norm: native {Step.GradNorm:R}, torch {gradNorm:R}; {Replay}");
        }

        public void AssertGradients()
        {
            var failures = new List<string>();
            foreach (var name in Names)
            {
                Assert.True(Reference.ContainsKey("grad." + name), $"torch has no parameter {name}; {Replay}");
                var diff = SmallModels.MaxDiff(Reference["grad." + name].Data, Gradients[name]);
                if (!(diff <= GradientTolerance))
                {
                    failures.Add($"grad {name}: max |diff| {diff:E3}");
                }
            }

            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Append(Replay)));
        }

        public void AssertStep()
        {
            var failures = new List<string>();
            foreach (var name in Names)
            {
                var diff = SmallModels.MaxDiff(Reference["after." + name].Data, After[name].Data);
                if (!(diff <= StepTolerance))
                {
                    failures.Add($"weights after step {name}: max |diff| {diff:E3}");
                }
            }

            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Append(Replay)));
        }

        private void Compare(string key, FloatTensor? native, double tolerance)
        {
            if (!Reference.TryGetValue(key, out var expected))
            {
                Assert.True(native is null || native.GetArray().Length == 0, $"{key}: native returned it, torch did not; {Replay}");
                return;
            }

            Assert.True(native is not null, $"{key}: torch returned it, native did not; {Replay}");
            Assert.True(expected.Shape.SequenceEqual(native.Shape), $"{key}: shape [{string.Join(", ", native.Shape)}], torch [{string.Join(", ", expected.Shape)}]; {Replay}");
            Output.WriteLine($"{key} {string.Join('x', expected.Shape)}: max |diff| {SmallModels.MaxDiff(expected.Data, native.GetArray()):E2}");
            if (key == "logits")
            {
                SmallModels.AssertClose(expected.Data, native.GetArray(), tolerance, $"{key} ({Replay})");
                return;
            }

            // Attention (L, B, H, rows, cols): report the first failing layer and head.
            long l = expected.Shape[0], b = expected.Shape[1], h = expected.Shape[2], block = expected.Shape[3] * expected.Shape[4];
            for (var li = 0; li < l; li++)
            {
                for (var bi = 0; bi < b; bi++)
                {
                    for (var hi = 0; hi < h; hi++)
                    {
                        var offset = (int)((((li * b) + bi) * h + hi) * block);
                        SmallModels.AssertClose(
                            expected.Data.AsSpan(offset, (int)block), native.GetArray().AsSpan(offset, (int)block), tolerance,
                            $"{key} layer {li} batch {bi} head {hi} ({Replay})");
                    }
                }
            }
        }
    }
}
