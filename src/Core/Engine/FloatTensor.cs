// A dense float32 array with its row-major shape: the managed form of the engine's outputs and state.

using System.Collections.ObjectModel;

namespace MLNet.Transformer.Engine;

/// <summary>A row-major float32 tensor: <see cref="Data"/> holds the product of <see cref="Shape"/> elements.</summary>
public sealed class FloatTensor
{
    private readonly float[] _data;
    private readonly long[] _shape;

    /// <summary>Wraps <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <param name="data">The elements, row-major.</param>
    /// <param name="shape">The dimensions; their product must equal data.Length.</param>
    /// <exception cref="TransformerArgumentException">The shape does not match the data.</exception>
    public FloatTensor(float[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new TransformerArgumentException($"A tensor dimension is negative: [{string.Join(", ", shape)}].", nameof(shape));
            }

            count *= d;
        }

        if (count != data.Length)
        {
            throw new TransformerArgumentException(
                $"The shape [{string.Join(", ", shape)}] holds {count} elements but the data has {data.Length}.", nameof(data));
        }

        _data = data;
        _shape = (long[])shape.Clone();
        Shape = new ReadOnlyCollection<long>(_shape);
    }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The elements, row-major (the array itself, not a copy).</summary>
    public Memory<float> Data => _data;

    /// <summary>The elements as a span.</summary>
    public Span<float> Span => _data;

    /// <summary>The element at the given index, one coordinate per dimension.</summary>
    /// <param name="index">Coordinates, outermost first.</param>
    public float this[params long[] index] => _data[Offset(index)];

    /// <summary>The underlying array (not a copy).</summary>
    public float[] GetArray() => _data;

    private long Offset(long[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != _shape.Length)
        {
            throw new TransformerArgumentException($"Expected {_shape.Length} coordinates, got {index.Length}.", nameof(index));
        }

        long offset = 0;
        for (var i = 0; i < index.Length; i++)
        {
            if (index[i] < 0 || index[i] >= _shape[i])
            {
                throw new ArgumentOutOfRangeException(nameof(index), $"Coordinate {i} is {index[i]}, outside [0, {_shape[i]}).");
            }

            offset = (offset * _shape[i]) + index[i];
        }

        return offset;
    }
}
