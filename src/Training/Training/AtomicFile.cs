namespace OnePass.Training.Training;

/// <summary>Writes files so that a reader (or a killed process) never sees half of one.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="contents"/> to a temporary file beside <paramref name="path"/>, then renames it.</summary>
    public static void WriteAllText(string path, string contents)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = $"{full}.tmp-{Environment.ProcessId}";
        File.WriteAllText(temp, contents);
        File.Move(temp, full, overwrite: true);
    }
}
