// Cuts an ONNX graph down to some of its outputs: the nodes, initializers and value infos those outputs do not need
// are removed. ONNX Runtime runs every node of a session whatever outputs a call fetches, so a graph with attention
// and per-position metrics costs their time on every row even when only the scores are read.
using Onnx;

namespace MLNet.Transformer.Onnx;

/// <summary>Removes from an ONNX graph everything the kept outputs do not depend on.</summary>
internal static class OnnxGraphPruning
{
    /// <summary>
    /// A copy of <paramref name="model"/> whose graph has only the outputs <paramref name="outputs"/> (in the graph's
    /// order) and the nodes, initializers and value infos they need. Graph inputs stay (callers feed the same tensors),
    /// except those naming a removed initializer. Opsets and metadata are kept; a model that carried a content hash
    /// (<see cref="OnnxContentHash"/>) carries the pruned graph's.
    /// </summary>
    /// <exception cref="ArgumentException">An output is not one of the graph's, or a node holds a subgraph (whose
    /// outer-scope reads this pruning does not follow).</exception>
    public static ModelProto KeepOutputs(ModelProto model, IReadOnlyCollection<string> outputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(outputs);
        var graph = model.Graph;
        var known = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var missing = outputs.Where(o => !known.Contains(o)).ToArray();
        if (missing.Length > 0)
        {
            throw new ArgumentException($"The ONNX graph has no output {string.Join(", ", missing.Select(m => $"'{m}'"))}; its outputs are {string.Join(", ", known.Select(k => $"'{k}'"))}.", nameof(outputs));
        }

        if (graph.Node.Any(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)))
        {
            throw new ArgumentException("The ONNX graph has nodes with subgraphs; pruning it is not supported.", nameof(model));
        }

        // ONNX graphs list nodes in topological order: one backward sweep finds every value the outputs need.
        var needed = new HashSet<string>(outputs, StringComparer.Ordinal);
        var keep = new bool[graph.Node.Count];
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (node.Output.Any(needed.Contains))
            {
                keep[i] = true;
                needed.UnionWith(node.Input.Where(name => name.Length > 0));
            }
        }

        var pruned = model.Clone();
        var g = pruned.Graph;
        var removed = g.Initializer.Select(t => t.Name).Where(name => !needed.Contains(name)).ToHashSet(StringComparer.Ordinal);
        Keep(g.Node, (_, i) => keep[i]);
        Keep(g.Output, (o, _) => outputs.Contains(o.Name));
        Keep(g.Initializer, (t, _) => needed.Contains(t.Name));
        Keep(g.ValueInfo, (v, _) => needed.Contains(v.Name));
        Keep(g.Input, (v, _) => !removed.Contains(v.Name));   // IR 3 graphs also list their initializers as inputs
        if (pruned.MetadataProps.Any(p => p.Key == OnnxNames.ContentHashKey))
        {
            OnnxContentHash.Stamp(pruned);
        }

        return pruned;
    }

    private static void Keep<T>(Google.Protobuf.Collections.RepeatedField<T> field, Func<T, int, bool> keep)
    {
        var kept = field.Where(keep).ToArray();
        field.Clear();
        field.AddRange(kept);
    }
}
