using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

/// <summary>
/// The Data target's decision for Fashion-MNIST (found / install the Debian package / download / error), with the
/// installer, the downloader and the processes the installer runs all substituted.
/// </summary>
public sealed class FashionMnistInstallTests
{
    private sealed class Machine : IDisposable
    {
        public TempDirectory Temp { get; } = new();

        public List<string> Calls { get; } = [];

        public string System => Path.Combine(Temp.Path, "system");

        public string Home => Temp.Sub("home");

        public FashionMnistLocator Locator(Func<string?>? install, bool downloadWorks)
        {
            var hashes = new Dictionary<string, string>();
            string source = Temp.Sub("source");
            IdxFiles.WriteSet(source, gzip: true);
            foreach (string file in Directory.GetFiles(source))
            {
                hashes[Path.GetFileName(file)] = Convert.ToHexStringLower(global::System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));
            }

            return new FashionMnistLocator
            {
                GetEnvironmentVariable = name => name == "HOME" ? Home : null,
                SystemDirectory = System,
                DownloadBase = new Uri("http://example.invalid/"),
                ExpectedSha256 = hashes,
                InstallSystemPackage = install is null ? null : () =>
                {
                    Calls.Add("install");
                    return install();
                },
                Downloader = (uri, path, _) =>
                {
                    Calls.Add("download");
                    if (!downloadWorks)
                    {
                        throw new HttpRequestException("no network");
                    }

                    File.Copy(Path.Combine(source, uri.Segments[^1]), path);
                    return Task.CompletedTask;
                },
            };
        }

        // What a successful apt-get install leaves behind.
        public string? InstallSucceeds()
        {
            IdxFiles.WriteSet(Temp.Sub("system"), gzip: true);
            return null;
        }

        public void Dispose() => Temp.Dispose();
    }

    [Fact]
    public void Found_in_the_system_folder_installs_and_downloads_nothing()
    {
        using var m = new Machine();
        m.InstallSucceeds();
        Assert.Equal(m.System, m.Locator(() => "must not run", downloadWorks: true).Locate(null));
        Assert.Empty(m.Calls);
    }

    [Fact]
    public void Missing_everywhere_installs_the_package_before_any_download()
    {
        using var m = new Machine();
        Assert.Equal(m.System, m.Locator(m.InstallSucceeds, downloadWorks: true).Locate(null));
        Assert.Equal(["install"], m.Calls);
    }

    [Fact]
    public void Where_installing_is_impossible_it_downloads()
    {
        using var m = new Machine();
        string found = m.Locator(() => "apt-get is not available", downloadWorks: true).Locate(null);
        Assert.Equal(Path.Combine(m.Home, ".cache", "onepass", "fashion-mnist"), found);
        Assert.Equal("install", m.Calls[0]);
        Assert.Equal(5, m.Calls.Count);
    }

    [Fact]
    public void When_install_and_download_both_fail_the_error_names_both()
    {
        using var m = new Machine();
        var e = Assert.Throws<DataNotFoundException>(() => m.Locator(() => "not root, and sudo needs a password (or is absent)", downloadWorks: false).Locate(null));
        Assert.Contains("install the Debian package dataset-fashion-mnist: not root, and sudo needs a password", e.Message);
        Assert.Contains("no network", e.Message);
        Assert.Equal(["install", "download"], m.Calls);
    }

    [Fact]
    public void Without_an_installer_nothing_is_installed()
    {
        using var m = new Machine();
        m.Locator(null, downloadWorks: true).Locate(null);
        Assert.DoesNotContain("install", m.Calls);
    }

    private static (DebianPackageInstaller Installer, List<string> Commands, List<string> Said) Installer(bool apt, bool root, bool sudo, int aptExit = 0)
    {
        var commands = new List<string>();
        var said = new List<string>();
        var installer = new DebianPackageInstaller
        {
            FindProgram = p => p == "apt-get" ? (apt ? "/usr/bin/apt-get" : null) : p == "sudo" ? (sudo ? "/usr/bin/sudo" : null) : null,
            RunProcess = (program, args) =>
            {
                string line = program + " " + string.Join(' ', args);
                commands.Add(line);
                return line switch
                {
                    "id -u" => root ? 0 : 1,
                    "sudo -n true" => sudo ? 0 : 1,
                    _ => aptExit,
                };
            },
            Say = said.Add,
        };
        return (installer, commands, said);
    }

    [Fact]
    public void As_root_it_runs_apt_get_update_and_install_and_says_so()
    {
        var (installer, commands, said) = Installer(apt: true, root: true, sudo: false);
        Assert.Null(installer.TryInstall("dataset-fashion-mnist"));
        Assert.Equal(
            ["id -u", "env DEBIAN_FRONTEND=noninteractive apt-get update -qq", "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist"],
            commands);
        Assert.Contains(said, s => s.Contains("installing Debian's package dataset-fashion-mnist", StringComparison.Ordinal));
    }

    [Fact]
    public void With_passwordless_sudo_it_runs_apt_get_through_sudo()
    {
        var (installer, commands, _) = Installer(apt: true, root: false, sudo: true);
        Assert.Null(installer.TryInstall("dataset-fashion-mnist"));
        Assert.Equal("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist", commands[^1]);
    }

    [Fact]
    public void Without_apt_or_rights_it_skips_quietly_and_runs_nothing()
    {
        var (noApt, noAptCommands, noAptSaid) = Installer(apt: false, root: true, sudo: true);
        Assert.Equal("apt-get is not available", noApt.TryInstall("dataset-fashion-mnist"));
        Assert.Empty(noAptCommands);
        Assert.Empty(noAptSaid);

        var (noRights, commands, said) = Installer(apt: true, root: false, sudo: false);
        Assert.Contains("sudo needs a password", noRights.TryInstall("dataset-fashion-mnist"));
        Assert.DoesNotContain(commands, c => c.Contains("apt-get", StringComparison.Ordinal));
        Assert.Empty(said);
    }

    [Fact]
    public void A_failing_apt_get_is_reported_not_thrown()
    {
        var (installer, _, _) = Installer(apt: true, root: true, sudo: false, aptExit: 100);
        Assert.Contains("update failed (exit code 100)", installer.TryInstall("dataset-fashion-mnist"));
    }
}
