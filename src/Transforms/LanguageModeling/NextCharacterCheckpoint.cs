// The bridge between a next-character model's description (NextCharacterModelInfo) and the engine-neutral
// Checkpoint of MLNet.Transformer.Core: the trainers write checkpoints, and the ML.NET chain, the ONNX export and
// InitialModelPath are built from one.
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Checkpoints of next-character models.</summary>
public static class NextCharacterCheckpoint
{
    /// <summary>A checkpoint of a model described by <paramref name="info"/> with <paramref name="weights"/> (model only, or with training state).</summary>
    public static Checkpoint Create(
        NextCharacterModelInfo info, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights,
        OptimizerState? optimizer = null, byte[]? randomState = null, TrainingPosition? training = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(weights);
        return new Checkpoint
        {
            Architecture = info.Architecture,
            Tokenizer = new CheckpointTokenizer
            {
                Vocabulary = info.Vocabulary,
                SourceVocabulary = info.SourceVocabulary,
                PadId = info.PadId,
                BosId = info.BosId,
                EosId = info.EosId,
                UnkId = info.UnkId,
                Normalize = info.Normalize,
                LowerCase = info.LowerCase,
            },
            TextColumnName = info.TextColumnName,
            SourceColumnName = info.SourceColumnName,
            SelfSource = info.SelfSource,
            TrainedOn = info.TrainedOn,
            Weights = weights,
            Optimizer = optimizer,
            RandomState = randomState,
            Training = training,
        };
    }

    /// <summary>Everything <paramref name="model"/> holds (weights, Adam's state, dropout generators) with the run's position.</summary>
    public static Checkpoint Capture(NextCharacterModelInfo info, TransformerModel model, TrainingPosition? training = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(info, model.ExportState().AsReadOnly(), model.ExportOptimizerState(), model.ExportRandomState(), training);
    }

    /// <summary>The model description a checkpoint holds.</summary>
    public static NextCharacterModelInfo InfoOf(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var t = checkpoint.Tokenizer;
        return new NextCharacterModelInfo
        {
            Architecture = checkpoint.Architecture,
            TextColumnName = checkpoint.TextColumnName,
            SourceColumnName = checkpoint.SourceColumnName,
            SelfSource = checkpoint.SelfSource,
            Vocabulary = t.Vocabulary,
            SourceVocabulary = t.SourceVocabulary,
            PadId = t.PadId,
            BosId = t.BosId,
            EosId = t.EosId,
            UnkId = t.UnkId,
            Normalize = t.Normalize,
            LowerCase = t.LowerCase,
            TrainedOn = checkpoint.TrainedOn,
        };
    }
}
