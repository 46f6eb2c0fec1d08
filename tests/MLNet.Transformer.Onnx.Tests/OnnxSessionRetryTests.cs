// ML.NET's OnnxTransformer writes a model to a temporary file with a random name; ONNX Runtime reads a file whose name
// ends in ".ort" as its own ORT format. The first test shows that failure on a real exported model; the second that
// the library's guard creates the session again for that failure only.

using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using Microsoft.ML.OnnxRuntime;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxSessionRetryTests
{
    [Fact]
    public void InferenceSession_ExportedModelInAFileNamedDotOrt_IsMisreadAsOrtFormat()
    {
        var cfg = SmallDecoder(seed: 4);
        using var model = TransformerModel.Create(cfg);
        byte[] bytes = ExportBytes(model, Info(cfg));
        string folder = Directory.CreateTempSubdirectory("mlt-ort-name-").FullName;
        try
        {
            string onnx = Path.Combine(folder, "abcdefgh.onx"), ort = Path.Combine(folder, "abcdefgh.ort");
            File.WriteAllBytes(onnx, bytes);
            File.WriteAllBytes(ort, bytes);
            using (new InferenceSession(onnx))
            {
                // Any other extension loads.
            }

            var e = Assert.ThrowsAny<OnnxRuntimeException>(() => new InferenceSession(ort).Dispose());
            Assert.True(OnnxSessionRetry.IsOrtFormatMisread(new InvalidOperationException("wrapped", e)), e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Run_OrtMisreadThenSuccess_Retries_OtherErrorsPropagateAtOnce()
    {
        int calls = 0;
        int result = OnnxSessionRetry.Run(() =>
        {
            if (++calls < 3)
            {
                throw new InvalidOperationException("Error during class instantiation", new InvalidOperationException("[ErrorCode:Fail] inference_session.cc:2226 operator() ORT model verification failed."));
            }

            return 42;
        });
        Assert.Equal((42, 3), (result, calls));

        calls = 0;
        Assert.Throws<InvalidOperationException>(() => OnnxSessionRetry.Run<int>(() => { calls++; throw new InvalidOperationException("some other failure"); }));
        Assert.Equal(1, calls);

        calls = 0;
        Assert.Throws<InvalidOperationException>(() => OnnxSessionRetry.Run<int>(() => { calls++; throw new InvalidOperationException("x ORT model verification failed."); }));
        Assert.Equal(4, calls);   // gives up after four attempts
    }
}
