// PlaygroundSite without a browser: a missing onnxruntime-web file is a clear error that writes nothing. The site
// itself is tested end to end in chromium by the CLI's PlaygroundTests.
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class PlaygroundSiteTests
{
    [Fact]
    public void Write_RuntimeFileMissing_ThrowsNamingTheFileAndWritesNothing()
    {
        string runtime = TestPaths.NewTempDirectory();
        File.WriteAllText(Path.Combine(runtime, "ort.wasm.min.mjs"), "");
        string site = Path.Combine(TestPaths.NewTempDirectory(), "site");
        var info = new NextCharacterModelInfo
        {
            Architecture = new TransformerModelConfig { VocabSize = 5 },
            TextColumnName = "Text",
            Vocabulary = ["<PAD>", "<BOS>", "<EOS>", "<UNK>", "a"],
        };

        var e = Assert.Throws<FileNotFoundException>(() =>
            PlaygroundSite.Write(site, new PlaygroundModel("m", info, 0, 1, null), [], runtime));

        Assert.Contains("ort-wasm-simd-threaded.mjs", e.Message, StringComparison.Ordinal);
        Assert.Contains("npm", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(site));
    }
}
