using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace OnePass.Training.Training;

/// <summary>
/// Exclusive ownership of a run folder for the life of a run: an OS file lock (FileShare.None, flock on Linux)
/// on <see cref="FileName"/> in the folder, holding the owner's process id. The OS releases the lock when the
/// process ends, however it ends, so a killed run never leaves a stale lock behind. Taking the lock also removes
/// temporary files (<c>*.tmp-PID</c>) an earlier, killed run left in the folder.
/// </summary>
public sealed partial class RunFolderLock : IDisposable
{
    /// <summary>Name of the lock file inside a run folder.</summary>
    public const string FileName = ".onepass.lock";

    private readonly FileStream _stream;

    private RunFolderLock(string folder, FileStream stream)
    {
        Folder = folder;
        _stream = stream;
    }

    /// <summary>The folder this lock owns.</summary>
    public string Folder { get; }

    /// <summary>Takes the folder (creating it) or throws <see cref="RunFolderInUseException"/> naming the holder.</summary>
    public static RunFolderLock Acquire(string folder) =>
        TryAcquire(folder, out int? holder) ?? throw new RunFolderInUseException(folder, holder);

    /// <summary>Takes the folder (creating it), or returns null and the holder's process id when another process has it.</summary>
    public static RunFolderLock? TryAcquire(string folder, out int? holder)
    {
        holder = null;
        if (File.Exists(folder))
        {
            throw new RunFolderException($"output folder '{folder}' is a file, not a folder");
        }

        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsLockConflict(e))
        {
            holder = ReadHolder(path);
            return null;
        }

        stream.SetLength(0);
        stream.Write(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
        stream.Flush();
        RemoveStaleTemporaries(folder);
        return new RunFolderLock(folder, stream);
    }

    /// <summary>True when another process holds <paramref name="folder"/> now (its id in <paramref name="holder"/> when known).</summary>
    public static bool IsHeld(string folder, out int? holder)
    {
        holder = null;
        if (!File.Exists(Path.Combine(folder, FileName)))
        {
            return false;
        }

        using var probe = TryAcquire(folder, out holder);
        return probe is null;
    }

    /// <summary>The process id written in a lock file (readable while another process holds the lock), or null.</summary>
    public static int? ReadHolder(string lockPath)
    {
        string? text = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? ReadUnlocked(lockPath) : null;
        return int.TryParse(text?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    /// <summary>Empties the lock file and releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            _stream.SetLength(0);
        }
        catch (IOException)
        {
            // Releasing matters more than emptying the file.
        }

        _stream.Dispose();
    }

    private static bool IsLockConflict(IOException e) =>
        e is not FileNotFoundException and not DirectoryNotFoundException
        && (e.HResult is 11 or 35 || e.HResult == unchecked((int)0x80070020) || e.HResult == unchecked((int)0x80070021));

    private static void RemoveStaleTemporaries(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(folder, "*.tmp-*"))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // A file we cannot remove is left for the next run.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    // .NET takes a shared flock for every read, which the holder's exclusive lock refuses; read with plain
    // open/read instead (flock is advisory).
    private static string? ReadUnlocked(string path)
    {
        try
        {
            int fd = Posix.Open(path, 0);
            if (fd < 0)
            {
                return null;
            }

            try
            {
                var buffer = new byte[64];
                nint n = Posix.Read(fd, buffer, buffer.Length);
                return n > 0 ? Encoding.ASCII.GetString(buffer, 0, (int)n) : null;
            }
            finally
            {
                Posix.Close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static partial class Posix
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "read")]
        public static partial nint Read(int fd, byte[] buffer, nint count);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}

/// <summary>A run folder another process is writing to: one line naming the folder and that process.</summary>
public sealed class RunFolderInUseException(string folder, int? holder) : Exception(
    $"run folder '{folder}' is in use by {(holder is { } pid ? $"process {pid}" : "another process")}; wait for that run to finish or choose another --out")
{
    /// <summary>The folder.</summary>
    public string Folder { get; } = folder;

    /// <summary>The holder's process id, when it could be read.</summary>
    public int? Holder { get; } = holder;
}

/// <summary>An output folder that cannot be used (for example a path that names a file).</summary>
public sealed class RunFolderException(string message) : Exception(message);
