// The attention weights of one input row across a model's attention blocks, as shown by AttentionPage.
namespace MLNet.Transformer.Visualization;

/// <summary>
/// Everything <see cref="AttentionPage"/> shows: a title, an optional model description and one
/// <see cref="AttentionSection"/> per attention block (at most one of each <see cref="AttentionKind"/>).
/// </summary>
public sealed class AttentionData
{
    /// <summary>Creates the data and validates it.</summary>
    /// <param name="title">The page title, for example the input text; must not be blank.</param>
    /// <param name="sections">The sections, in display order; at least one, at most one per kind.</param>
    /// <param name="description">An optional model description shown under the title (for example "L2 H4 d64").</param>
    /// <exception cref="ArgumentNullException">An argument or section is null.</exception>
    /// <exception cref="ArgumentException">The title is blank, there are no sections, or a kind repeats.</exception>
    public AttentionData(string title, IReadOnlyList<AttentionSection> sections, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        ArgumentNullException.ThrowIfNull(sections);
        if (sections.Count == 0)
        {
            throw new ArgumentException("At least one attention section is needed.", nameof(sections));
        }

        var copy = new AttentionSection[sections.Count];
        var seen = new HashSet<AttentionKind>();
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = sections[i] ?? throw new ArgumentNullException(nameof(sections), $"{nameof(sections)}[{i}] is null.");
            if (!seen.Add(copy[i].Kind))
            {
                throw new ArgumentException(
                    $"{nameof(sections)}[{i}] repeats the kind {copy[i].Kind}; give each kind at most once.",
                    nameof(sections));
            }
        }

        Title = title;
        Description = description;
        Sections = copy;
    }

    /// <summary>The page title.</summary>
    public string Title { get; }

    /// <summary>The model description shown under the title, or null.</summary>
    public string? Description { get; }

    /// <summary>The sections, in display order.</summary>
    public IReadOnlyList<AttentionSection> Sections { get; }

    /// <summary>
    /// Reads a file written by <see cref="BertvizJson.Write(AttentionSection, string)"/> (or any JSON in the same
    /// bertviz layout) into data with one section.
    /// </summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="title">The title; defaults to the file name without extension.</param>
    /// <returns>The data.</returns>
    /// <exception cref="AttentionFormatException">The file is not valid JSON in the expected layout.</exception>
    public static AttentionData FromBertvizJson(string path, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string json = File.ReadAllText(path);
        AttentionSection section = BertvizJson.Parse(json, path);
        string name = string.IsNullOrWhiteSpace(title) ? Path.GetFileNameWithoutExtension(path) : title;
        return new AttentionData(string.IsNullOrWhiteSpace(name) ? "attention" : name, [section]);
    }
}
