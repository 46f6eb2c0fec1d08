// A small, seedable, platform-independent random generator (xoshiro256** seeded by SplitMix64) used for every
// random choice in a sweep, so that one sweep seed gives the same proposals on every runtime version.
namespace MLNet.Transformer.AutoML.Internal;

/// <summary>xoshiro256** (Blackman and Vigna, 2018) with SplitMix64 seeding; not thread-safe.</summary>
internal sealed class SweepRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareGaussian;

    /// <summary>Creates a generator whose whole stream is fixed by <paramref name="seed"/>.</summary>
    public SweepRandom(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>Derives an independent 31-bit seed from a parent seed and a stream index (for per-trial seeds).</summary>
    public static int DeriveSeed(long parent, long stream, long index)
    {
        ulong x = unchecked((ulong)parent ^ ((ulong)stream * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xD1B54A32D192ED03UL));
        ulong v = SplitMix64(ref x);
        return (int)(v >> 33);
    }

    /// <summary>Next raw 64-bit value.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform double in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double NextDouble(double low, double high) => low + ((high - low) * NextDouble());

    /// <summary>Uniform integer in [0, <paramref name="count"/>) (Lemire's nearly-divisionless method is not
    /// needed at these sizes; the modulo bias is below 2^-40 for counts under 2^24).</summary>
    public int NextInt(int count)
    {
        if (count <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "count must be positive.");
        }

        return (int)(NextUInt64() % (ulong)count);
    }

    /// <summary>Standard normal deviate (Marsaglia polar method).</summary>
    public double NextGaussian()
    {
        if (_spareGaussian is double spare)
        {
            _spareGaussian = null;
            return spare;
        }

        double u, v, s;
        do
        {
            u = (2.0 * NextDouble()) - 1.0;
            v = (2.0 * NextDouble()) - 1.0;
            s = (u * u) + (v * v);
        }
        while (s >= 1.0 || s == 0.0);

        double m = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spareGaussian = v * m;
        return u * m;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
