// A small typed front over the ONNX protobuf classes (OnnxSharp's Onnx.*): nodes with generated unique output
// names, float and int64 initializers, graph inputs and outputs with symbolic dimensions. No model knowledge here.
using Google.Protobuf;
using Onnx;

namespace MLNet.Transformer.Onnx;

/// <summary>Builds one ONNX <see cref="GraphProto"/> node by node.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string name) => Graph = new GraphProto { Name = name };

    public GraphProto Graph { get; }

    /// <summary>Adds a node with one output; returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string? hint = null, params AttributeProto[] attributes) =>
        NodeN(opType, inputs, 1, hint, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs; returns their names.</summary>
    public string[] NodeN(string opType, string[] inputs, int outputs, string? hint = null, params AttributeProto[] attributes)
    {
        string baseName = Unique(hint ?? opType);
        var node = new NodeProto { OpType = opType, Name = baseName };
        node.Input.AddRange(inputs);
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            names[i] = outputs == 1 ? baseName : $"{baseName}:{i}";
            node.Output.Add(names[i]);
        }

        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Adds a node whose single output has a fixed name (a graph output).</summary>
    public void NodeTo(string output, string opType, string[] inputs, params AttributeProto[] attributes)
    {
        _used[output] = 1;
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    /// <summary>A float32 initializer (row-major data).</summary>
    public string Initializer(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> data)
    {
        _used[name] = 1;
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 1-D string initializer (UTF-8).</summary>
    public string StringInitializer(string name, IReadOnlyList<string> values)
    {
        _used[name] = 1;
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.String };
        tensor.Dims.Add(values.Count);
        tensor.StringData.AddRange(values.Select(ByteString.CopyFromUtf8));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>An int64 constant (shared when the same values are asked for twice).</summary>
    public string Int64(params long[] values) => Int64Shaped(values.Length == 1 ? [] : [values.Length], values);

    /// <summary>A 1-D int64 constant, even of one element.</summary>
    public string Int64Vector(params long[] values) => Int64Shaped([values.Length], values);

    /// <summary>A float32 scalar constant.</summary>
    public string Float(float value)
    {
        string key = "f:" + BitConverter.SingleToInt32Bits(value).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!_constants.TryGetValue(key, out var name))
        {
            name = Unique("const");
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tensor.FloatData.Add(value);
            Graph.Initializer.Add(tensor);
            _constants[key] = name;
        }

        return name;
    }

    /// <summary>Declares a graph input of element type <paramref name="type"/>; a dimension is a size or a symbolic name.</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _used[name] = 1;
        Graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares a graph output (the value must be produced under this name).</summary>
    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) =>
        Graph.Output.Add(ValueInfo(name, type, dims));

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private string Int64Shaped(long[] dims, long[] values)
    {
        string key = $"i:{dims.Length}:{string.Join(',', values)}";
        if (!_constants.TryGetValue(key, out var name))
        {
            name = Unique("const");
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.AddRange(dims);
            tensor.Int64Data.AddRange(values);
            Graph.Initializer.Add(tensor);
            _constants[key] = name;
        }

        return name;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"A dimension is a size or a symbolic name, not {d.GetType().Name}.", nameof(dims)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private string Unique(string hint)
    {
        if (_used.TryAdd(hint, 1))
        {
            return hint;
        }

        while (true)
        {
            int n = _used[hint]++;
            string name = $"{hint}_{n}";
            if (_used.TryAdd(name, 1))
            {
                return name;
            }
        }
    }
}
