// One block of attention weights (decoder self, encoder self or cross) for one input row, validated on construction.
// Weights are laid out (L, H, Tq, Tk) row-major: layer, head, query position, key position.
namespace MLNet.Transformer.Visualization;

/// <summary>
/// The attention weights of one attention block (all layers and heads) for one input row, with the tokens they
/// attend between. Immutable; the constructor copies the arrays and checks that their sizes agree.
/// </summary>
public sealed class AttentionSection
{
    private readonly string[] _queryTokens;
    private readonly string[] _keyTokens;
    private readonly float[] _weights;

    /// <summary>Creates a section and validates it.</summary>
    /// <param name="kind">The attention block the weights come from.</param>
    /// <param name="queryTokens">The query tokens (rows of each matrix), <c>Tq</c> of them; at least one.</param>
    /// <param name="keyTokens">The key tokens (columns of each matrix), <c>Tk</c> of them; at least one.</param>
    /// <param name="layers">The number of layers <c>L</c>; at least one.</param>
    /// <param name="heads">The number of heads per layer <c>H</c>; at least one.</param>
    /// <param name="weights">
    /// The weights, (L, H, Tq, Tk) row-major: element <c>((l * H + h) * Tq + q) * Tk + k</c> is how much query
    /// <c>q</c> attends to key <c>k</c> in layer <c>l</c>, head <c>h</c>. Each row should sum to about one (a
    /// softmax output); that is not enforced, but NaN, infinite and negative values are rejected.
    /// </param>
    /// <exception cref="ArgumentNullException">An array or token is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The sizes disagree, or a weight is NaN, infinite or negative.</exception>
    public AttentionSection(
        AttentionKind kind,
        IReadOnlyList<string> queryTokens,
        IReadOnlyList<string> keyTokens,
        int layers,
        int heads,
        IReadOnlyList<float> weights)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown attention kind.");
        }

        _queryTokens = CopyTokens(queryTokens, nameof(queryTokens));
        _keyTokens = CopyTokens(keyTokens, nameof(keyTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentNullException.ThrowIfNull(weights);

        if (kind != AttentionKind.Cross && _queryTokens.Length != _keyTokens.Length)
        {
            throw new ArgumentException(
                $"{kind} is self-attention, so {nameof(queryTokens)} ({_queryTokens.Length}) and " +
                $"{nameof(keyTokens)} ({_keyTokens.Length}) must have the same length.",
                nameof(keyTokens));
        }

        long expected = (long)layers * heads * _queryTokens.Length * _keyTokens.Length;
        if (weights.Count != expected)
        {
            throw new ArgumentException(
                $"{nameof(weights)} has {weights.Count} elements, but (L={layers}, H={heads}, " +
                $"Tq={_queryTokens.Length}, Tk={_keyTokens.Length}) needs {expected}.",
                nameof(weights));
        }

        _weights = new float[weights.Count];
        for (int i = 0; i < _weights.Length; i++)
        {
            float w = weights[i];
            if (!float.IsFinite(w) || w < 0f)
            {
                int tq = _queryTokens.Length, tk = _keyTokens.Length;
                int k = i % tk, q = i / tk % tq, h = i / (tk * tq) % heads, l = i / (tk * tq * heads);
                throw new ArgumentException(
                    $"{nameof(weights)}[{i}] (layer {l}, head {h}, query {q}, key {k}) is {w}; " +
                    "attention weights must be finite and non-negative.",
                    nameof(weights));
            }

            _weights[i] = w;
        }

        Kind = kind;
        Layers = layers;
        Heads = heads;
    }

    /// <summary>The attention block the weights come from.</summary>
    public AttentionKind Kind { get; }

    /// <summary>The query tokens (rows), <c>Tq</c> of them.</summary>
    public IReadOnlyList<string> QueryTokens => _queryTokens;

    /// <summary>The key tokens (columns), <c>Tk</c> of them.</summary>
    public IReadOnlyList<string> KeyTokens => _keyTokens;

    /// <summary>The number of layers <c>L</c>.</summary>
    public int Layers { get; }

    /// <summary>The number of heads per layer <c>H</c>.</summary>
    public int Heads { get; }

    /// <summary>The weights, (L, H, Tq, Tk) row-major.</summary>
    public IReadOnlyList<float> Weights => _weights;

    /// <summary>The weight with which <paramref name="query"/> attends to <paramref name="key"/>.</summary>
    /// <param name="layer">Layer index, 0-based.</param>
    /// <param name="head">Head index, 0-based.</param>
    /// <param name="query">Query position, 0-based.</param>
    /// <param name="key">Key position, 0-based.</param>
    /// <returns>The weight.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public float this[int layer, int head, int query, int key]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(layer);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Layers);
            ArgumentOutOfRangeException.ThrowIfNegative(head);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(head, Heads);
            ArgumentOutOfRangeException.ThrowIfNegative(query);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(query, _queryTokens.Length);
            ArgumentOutOfRangeException.ThrowIfNegative(key);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(key, _keyTokens.Length);
            return _weights[((layer * Heads + head) * _queryTokens.Length + query) * _keyTokens.Length + key];
        }
    }

    /// <summary>A short human-readable name of <see cref="Kind"/>, as shown on the page.</summary>
    public string DisplayName => Kind switch
    {
        AttentionKind.EncoderSelf => "Encoder self-attention",
        AttentionKind.Cross => "Cross-attention",
        _ => "Decoder self-attention",
    };

    internal float[] RawWeights => _weights;

    private static string[] CopyTokens(IReadOnlyList<string> tokens, string name)
    {
        ArgumentNullException.ThrowIfNull(tokens, name);
        if (tokens.Count == 0)
        {
            throw new ArgumentException($"{name} is empty; a section needs at least one token.", name);
        }

        var copy = new string[tokens.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = tokens[i] ?? throw new ArgumentNullException(name, $"{name}[{i}] is null.");
        }

        return copy;
    }
}
