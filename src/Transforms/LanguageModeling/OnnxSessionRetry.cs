// A guard around ML.NET's OnnxTransformer creation. ML.NET writes the ONNX bytes to a temporary file named by
// Path.GetRandomFileName(); one such name in 32,768 ends in ".ort", which ONNX Runtime takes for its own ORT format
// and rejects ("ORT model verification failed", dotnet/machinelearning#7339). Creating the transformer again draws
// another name. The library's internal ML.NET contexts keep those temporary files in TemporaryFiles.Folder.

using Microsoft.ML;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Retries an ML.NET call that creates an ONNX Runtime session when the temporary file name misleads ONNX Runtime.</summary>
internal static class OnnxSessionRetry
{
    private const int Attempts = 4;

    /// <summary>Runs <paramref name="create"/>, again (up to 4 times in all) when it failed only because of the ".ort" name.</summary>
    public static T Run<T>(Func<T> create)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return create();
            }
            catch (Exception e) when (attempt < Attempts && IsOrtFormatMisread(e))
            {
                // Another temporary file name is drawn on the next attempt.
            }
        }
    }

    /// <summary>True when <paramref name="e"/> (or an inner exception) is ONNX Runtime reading an ONNX file as ORT format.</summary>
    public static bool IsOrtFormatMisread(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x.Message.Contains("ORT model verification failed", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A context for the library's own ML.NET pipelines, its temporary model files in this process's folder.</summary>
    public static MLContext Context(int? seed = null) => new(seed) { TempFilePath = TemporaryFiles.Folder };
}
