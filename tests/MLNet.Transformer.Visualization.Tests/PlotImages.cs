// Helpers for the plot tests: the texts of an SVG, a decoded PNG, and "is there a pixel of this colour near here".
using System.Xml.Linq;
using ScottPlot;
using SkiaSharp;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

internal static class PlotImages
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Parses the SVG (so it must be well-formed) and returns every text element's content, in document order.</summary>
    public static List<string> Texts(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.Empty(doc.Descendants(Svg + "script"));
        return [.. doc.Descendants(Svg + "text").Select(t => t.Value.Trim())];
    }

    /// <summary>Decodes PNG bytes (checking the signature) into a bitmap.</summary>
    public static SKBitmap Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        SKBitmap? bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        return bitmap;
    }

    /// <summary>Whether a pixel within <paramref name="radius"/> of (x, y) is within <paramref name="tolerance"/> (sum
    /// of channel differences) of <paramref name="color"/>.</summary>
    public static bool HasColorNear(SKBitmap bitmap, Pixel at, Color color, int radius, int tolerance = 60)
    {
        for (int y = (int)at.Y - radius; y <= (int)at.Y + radius; y++)
        {
            for (int x = (int)at.X - radius; x <= (int)at.X + radius; x++)
            {
                if (x >= 0 && y >= 0 && x < bitmap.Width && y < bitmap.Height && Distance(bitmap.GetPixel(x, y), color) <= tolerance)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>How many pixels of the bitmap are not white.</summary>
    public static int NonWhite(SKBitmap bitmap)
    {
        int n = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                n += Distance(bitmap.GetPixel(x, y), Colors.White) > 30 ? 1 : 0;
            }
        }

        return n;
    }

    private static int Distance(SKColor a, Color b) => Math.Abs(a.Red - b.R) + Math.Abs(a.Green - b.G) + Math.Abs(a.Blue - b.B);
}
