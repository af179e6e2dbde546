namespace OnePass.Training.Training;

/// <summary>Writes files so that a reader (or a killed process) never sees half of one.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="contents"/> to a temporary file beside <paramref name="path"/>, then renames it.</summary>
    public static void WriteAllText(string path, string contents) => Write(path, temp => File.WriteAllText(temp, contents));

    /// <summary>
    /// Lets <paramref name="writeTemporary"/> write a temporary file beside <paramref name="path"/> (same extension, so
    /// writers that look at it are content), then renames it over <paramref name="path"/>. A failure (a full disk, say)
    /// removes the temporary file and leaves any earlier <paramref name="path"/> as it was.
    /// </summary>
    public static void Write(string path, Action<string> writeTemporary)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = Path.Combine(Path.GetDirectoryName(full)!,
            $"{Path.GetFileNameWithoutExtension(full)}.tmp-{Environment.ProcessId}{Path.GetExtension(full)}");
        try
        {
            writeTemporary(temp);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next run in this folder, which removes *.tmp-* files.
        }
    }
}
