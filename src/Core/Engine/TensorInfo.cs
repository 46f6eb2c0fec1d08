// Name and shape of one state tensor of a TransformerModel, named as in the PyTorch state dict.

using System.Collections.ObjectModel;

namespace MLNet.Transformer.Engine;

/// <summary>A state tensor's PyTorch state-dict name (e.g. <c>layers.0.self_attn.in_proj_weight</c>) and shape.</summary>
public sealed class TensorInfo
{
    /// <summary>Creates the description.</summary>
    /// <param name="name">State-dict name.</param>
    /// <param name="shape">Dimensions, outermost first.</param>
    public TensorInfo(string name, IEnumerable<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        var dims = shape.ToArray();
        Shape = new ReadOnlyCollection<long>(dims);
        ElementCount = dims.Aggregate(1L, (a, d) => a * d);
    }

    /// <summary>State-dict name.</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public long ElementCount { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
