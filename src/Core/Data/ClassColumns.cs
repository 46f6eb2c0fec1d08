// Maps the public fields and properties of a user class to typed columns (used by LoadFromEnumerable,
// LoadFromTextFile<T> and CreateEnumerable). Internal: the attributes in Attributes.cs are the public face.
using System.Reflection;

namespace MLNet.Transformer.Data;

/// <summary>One member of a user class bound to a column.</summary>
internal sealed class MemberColumn
{
    private readonly FieldInfo? _field;
    private readonly PropertyInfo? _property;

    private MemberColumn(MemberInfo member, string name, Type memberType, DataViewType type, int? loadIndex)
    {
        _field = member as FieldInfo;
        _property = member as PropertyInfo;
        Member = member;
        Name = name;
        MemberType = memberType;
        Type = type;
        LoadIndex = loadIndex;
    }

    /// <summary>The field or property.</summary>
    public MemberInfo Member { get; }

    /// <summary>Column name ([ColumnName] or the member name).</summary>
    public string Name { get; }

    /// <summary>The member's CLR type.</summary>
    public Type MemberType { get; }

    /// <summary>The column type.</summary>
    public DataViewType Type { get; }

    /// <summary>The [LoadColumn] position, if any.</summary>
    public int? LoadIndex { get; }

    /// <summary>True when the member can be read.</summary>
    public bool CanRead => _field is not null || _property!.GetMethod is { IsPublic: true };

    /// <summary>True when the member can be written.</summary>
    public bool CanWrite => _field is { IsInitOnly: false, IsLiteral: false } || _property?.SetMethod is { IsPublic: true };

    /// <summary>Reads the member of <paramref name="row"/> as a column value (null text becomes "", null arrays empty).</summary>
    public object GetValue(object row)
    {
        object? value = _field is not null ? _field.GetValue(row) : _property!.GetValue(row);
        if (value is null)
        {
            if (Type is VectorDataViewType { IsKnownSize: true } v)
            {
                throw new SchemaException($"Column '{Name}' is a vector of {v.Size} items but member '{Member.Name}' is null.", Name);
            }

            return Type is VectorDataViewType vt ? Array.CreateInstance(vt.ItemType.RawType, 0) : "";
        }

        if (Type is VectorDataViewType { IsKnownSize: true } known && ((Array)value).Length != known.Size)
        {
            throw new SchemaException(
                $"Column '{Name}' is a vector of {known.Size} items ({known}) but member '{Member.Name}' holds {((Array)value).Length}.", Name);
        }

        return value;
    }

    /// <summary>Writes <paramref name="value"/> into the member of <paramref name="row"/>.</summary>
    public void SetValue(object row, object? value)
    {
        if (_field is not null)
        {
            _field.SetValue(row, value);
        }
        else
        {
            _property!.SetValue(row, value);
        }
    }

    /// <summary>The columns of <paramref name="type"/>: public instance properties, then public fields, in declaration order.</summary>
    public static IReadOnlyList<MemberColumn> For(Type type)
    {
        var members = new List<MemberInfo>();
        members.AddRange(type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.MetadataToken));
        members.AddRange(type.GetFields(BindingFlags.Public | BindingFlags.Instance).OrderBy(f => f.MetadataToken));
        var result = new List<MemberColumn>();
        foreach (var m in members)
        {
            if (m.GetCustomAttribute<NoColumnAttribute>() is not null)
            {
                continue;
            }

            Type memberType = m is FieldInfo f ? f.FieldType : ((PropertyInfo)m).PropertyType;
            string name = m.GetCustomAttribute<ColumnNameAttribute>()?.Name ?? m.Name;
            var vector = m.GetCustomAttribute<VectorTypeAttribute>();
            DataViewType columnType = MapType(memberType, vector)
                ?? throw new SchemaException(
                    $"Member '{type.Name}.{m.Name}' (column '{name}') has unsupported type {memberType.Name}; supported: string, bool, int, long, float, double and arrays of them.",
                    name);
            result.Add(new MemberColumn(m, name, memberType, columnType, m.GetCustomAttribute<LoadColumnAttribute>()?.Index));
        }

        return result;
    }

    /// <summary>The column type of a member of CLR type <paramref name="memberType"/>, or null when unsupported.</summary>
    public static DataViewType? MapType(Type memberType, VectorTypeAttribute? vector)
    {
        if (memberType.IsArray && memberType.GetArrayRank() == 1)
        {
            var item = MapPrimitive(memberType.GetElementType()!);
            return item is null ? null : new VectorDataViewType(item, vector is null ? [] : [.. vector.Dimensions]);
        }

        return vector is null ? MapPrimitive(memberType) : null;
    }

    /// <summary>The primitive column type of a CLR scalar type, or null.</summary>
    public static PrimitiveDataViewType? MapPrimitive(Type t) =>
        t == typeof(string) ? TextDataViewType.Instance
        : t == typeof(bool) ? BooleanDataViewType.Instance
        : t == typeof(int) ? NumberDataViewType.Int32
        : t == typeof(long) ? NumberDataViewType.Int64
        : t == typeof(float) ? NumberDataViewType.Single
        : t == typeof(double) ? NumberDataViewType.Double
        : null;
}
