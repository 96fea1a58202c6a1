//! The prober seam: everything kbguard reads from a host beyond the facts it was given goes
//! through [`Prober`], so evaluation stays pure and tests hand it a fake host.
//!
//! Owns the hosts a prober can stand for: [`LocalHost`] (this machine: file metadata, PE
//! version resources, bounded text reads, free space, the process list, and on Windows the
//! registry and the service control manager), [`Offline`] (another host: nothing can be read),
//! [`RegistryOnly`] (a `.reg` export: its registry and nothing else), and [`Cached`], which a
//! check wraps around one of them so each fact is read once per check. Every read is
//! read-only and bounded; nothing here runs a program.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use crate::model::FactValue;
use crate::registry::{RegValue, Registry};
use crate::version::Version;

/// The largest text file read whole (`FileContains`, `IniValue`): `boot.ini` and
/// `exchange.ini`-style files are a few kilobytes.
pub const TEXT_LIMIT: u64 = 16 << 20;

/// The registry key under which Windows keeps each service's configuration (`Start`).
const SERVICES_KEY: &str = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services";

/// What can be read from a host. Each method answers a value or says why it cannot.
pub trait Prober {
    /// A family fact (`file.size`, `file.version`, `volume.free`, `process.running`,
    /// `service.running`, `service.start_type`, `file.exists`) for its argument.
    fn family(&self, family: &str, arg: &str) -> Result<FactValue, String>;
    /// Whether `path` is a regular file (a metadata lookup), for `OnPath`.
    fn is_file(&self, path: &str) -> Result<bool, String>;
    /// A text file's contents, up to [`TEXT_LIMIT`] bytes.
    fn text(&self, path: &str) -> Result<String, String>;
    /// The host's registry.
    fn registry(&self) -> Result<&dyn Registry, String>;
}

/// Another host, described by facts only: nothing can be read.
#[derive(Clone, Copy, Debug)]
pub struct Offline(pub &'static str);

/// What [`Offline`] says for a snapshot or a test case.
pub const ANOTHER_HOST: Offline =
    Offline("the facts describe another host, which cannot be probed from here");

impl Prober for Offline {
    fn family(&self, _: &str, _: &str) -> Result<FactValue, String> {
        Err(self.0.to_string())
    }
    fn is_file(&self, _: &str) -> Result<bool, String> {
        Err(self.0.to_string())
    }
    fn text(&self, _: &str) -> Result<String, String> {
        Err(self.0.to_string())
    }
    fn registry(&self) -> Result<&dyn Registry, String> {
        Err(self.0.to_string())
    }
}

/// A host known only by a registry export: the registry answers, files do not.
pub struct RegistryOnly<'a>(pub &'a dyn Registry);

impl Prober for RegistryOnly<'_> {
    fn family(&self, family: &str, arg: &str) -> Result<FactValue, String> {
        match family {
            "service.start_type" => service_start_type(self.0, arg),
            _ => Err(format!("a registry export cannot answer {family}")),
        }
    }
    fn is_file(&self, _: &str) -> Result<bool, String> {
        Err("a registry export holds no files".into())
    }
    fn text(&self, _: &str) -> Result<String, String> {
        Err("a registry export holds no files".into())
    }
    fn registry(&self) -> Result<&dyn Registry, String> {
        Ok(self.0)
    }
}

/// A prober that reads each family fact once (one per check: the host does not change
/// within a check, and ten rules asking for one file's size read it once).
pub struct Cached<'a> {
    inner: &'a dyn Prober,
    families: RefCell<BTreeMap<(String, String), Result<FactValue, String>>>,
}

impl<'a> Cached<'a> {
    /// A cache in front of `inner`.
    pub fn new(inner: &'a dyn Prober) -> Cached<'a> {
        Cached {
            inner,
            families: RefCell::new(BTreeMap::new()),
        }
    }
}

impl Prober for Cached<'_> {
    fn family(&self, family: &str, arg: &str) -> Result<FactValue, String> {
        let key = (family.to_string(), arg.to_string());
        if let Some(found) = self.families.borrow().get(&key) {
            return found.clone();
        }
        let read = self.inner.family(family, arg);
        self.families.borrow_mut().insert(key, read.clone());
        read
    }
    fn is_file(&self, path: &str) -> Result<bool, String> {
        self.inner.is_file(path)
    }
    fn text(&self, path: &str) -> Result<String, String> {
        self.inner.text(path)
    }
    fn registry(&self) -> Result<&dyn Registry, String> {
        self.inner.registry()
    }
}

/// This machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalHost;

impl Prober for LocalHost {
    fn family(&self, family: &str, arg: &str) -> Result<FactValue, String> {
        match family {
            "file.exists" => Ok(FactValue::Bool(std::fs::symlink_metadata(arg).is_ok())),
            "file.size" => {
                let meta = std::fs::metadata(arg).map_err(|e| format!("{arg}: {e}"))?;
                if !meta.is_file() {
                    return Err(format!("{arg} is not a file"));
                }
                i64::try_from(meta.len())
                    .map(FactValue::Int)
                    .map_err(|e| e.to_string())
            }
            "volume.free" => {
                // The volume of the nearest existing ancestor: a database may not exist yet.
                let path = Path::new(arg)
                    .ancestors()
                    .find(|p| !p.as_os_str().is_empty() && p.exists())
                    .ok_or_else(|| format!("no folder of {arg} exists"))?;
                let free = fs4::available_space(path).map_err(|e| format!("{arg}: {e}"))?;
                i64::try_from(free)
                    .map(FactValue::Int)
                    .map_err(|e| e.to_string())
            }
            "process.running" => process_running(arg).map(FactValue::Bool),
            "file.version" => pe_file_version(Path::new(arg)).map(FactValue::Version),
            "service.running" => service_running(arg).map(FactValue::Bool),
            "service.start_type" => service_start_type(self.registry()?, arg),
            _ => Err(format!("no probe reads {family}")),
        }
    }

    fn is_file(&self, path: &str) -> Result<bool, String> {
        Ok(std::fs::metadata(path).is_ok_and(|m| m.is_file()))
    }

    fn text(&self, path: &str) -> Result<String, String> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut bytes = Vec::new();
        file.take(TEXT_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{path}: {e}"))?;
        if bytes.len() as u64 > TEXT_LIMIT {
            return Err(format!(
                "{path} is larger than the {TEXT_LIMIT} bytes kbguard reads"
            ));
        }
        Ok(decode_text(&bytes))
    }

    #[cfg(windows)]
    fn registry(&self) -> Result<&dyn Registry, String> {
        Ok(&crate::registry::LiveRegistry)
    }

    #[cfg(not(windows))]
    fn registry(&self) -> Result<&dyn Registry, String> {
        Err(format!("{} has no Windows registry", std::env::consts::OS))
    }
}

/// A text file's bytes as text: UTF-16LE with a byte-order mark, UTF-8, else the ANSI code
/// page Windows tools write.
fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return encoding_rs::UTF_16LE.decode(rest).0.into_owned();
    }
    let rest = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(rest) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(rest).0.into_owned(),
    }
}

/// The file version (`VS_FIXEDFILEINFO`'s) of a PE file, read from its version resource. The
/// file is mapped read-only and only its headers and resource directory are read, so a large
/// file costs no more than a small one; anything that is not such a file is an error.
pub fn pe_file_version(path: &Path) -> Result<Version, String> {
    let name = path.display();
    let map = pelite::FileMap::open(path).map_err(|e| format!("{name}: {e}"))?;
    let file = pelite::PeFile::from_bytes(map.as_ref()).map_err(|e| format!("{name}: {e}"))?;
    let resources = file.resources().map_err(|e| format!("{name}: {e}"))?;
    let info = resources
        .version_info()
        .map_err(|e| format!("{name}: {e}"))?;
    let fixed = info
        .fixed()
        .ok_or_else(|| format!("{name}: no fixed file version in its version resource"))?;
    let v = fixed.dwFileVersion;
    format!("{}.{}.{}.{}", v.Major, v.Minor, v.Patch, v.Build)
        .parse()
        .map_err(|e: crate::version::VersionError| e.to_string())
}

fn process_running(program: &str) -> Result<bool, String> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let wanted = crate::intent::normalize_program(program);
    let mut system =
        System::new().map_err(|e| format!("the process list cannot be read here: {e:?}"))?;
    // The executable's path as well as the name: Linux cuts process names at 15 characters.
    let refresh = ProcessRefreshKind::nothing().with_exe(UpdateKind::OnlyIfNotSet);
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh);
    let matches = |name: &std::ffi::OsStr| {
        crate::intent::normalize_program(&name.to_string_lossy()) == wanted
    };
    Ok(system
        .processes()
        .values()
        .any(|p| matches(p.name()) || p.exe().and_then(Path::file_name).is_some_and(matches)))
}

/// A service's start type from its `Start` value (`services.msc`'s names in lower case): the
/// registry, live or exported, holds it.
fn service_start_type(registry: &dyn Registry, name: &str) -> Result<FactValue, String> {
    let key = format!("{SERVICES_KEY}\\{name}");
    if !registry.key_exists(&key)? {
        return Err(format!("service {name} is not installed"));
    }
    let kind = match registry.value(&key, "Start")? {
        RegValue::Dword(0) => "boot",
        RegValue::Dword(1) => "system",
        RegValue::Dword(2) => "auto",
        RegValue::Dword(3) => "demand",
        RegValue::Dword(4) => "disabled",
        other => return Err(format!("{key}\\Start holds {other}, not a start type")),
    };
    Ok(FactValue::Str(kind.to_string()))
}

/// Whether a service is running, from the service control manager (asked for its status only).
/// A service that is not installed is not running.
#[cfg(windows)]
fn service_running(name: &str) -> Result<bool, String> {
    use windows_service::service::{ServiceAccess, ServiceState};
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    // ERROR_SERVICE_DOES_NOT_EXIST.
    const NOT_INSTALLED: i32 = 1060;
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| format!("the service control manager: {e}"))?;
    let service = match manager.open_service(name, ServiceAccess::QUERY_STATUS) {
        Ok(service) => service,
        Err(windows_service::Error::Winapi(e)) if e.raw_os_error() == Some(NOT_INSTALLED) => {
            return Ok(false)
        }
        Err(e) => return Err(format!("service {name}: {e}")),
    };
    let status = service
        .query_status()
        .map_err(|e| format!("service {name}: {e}"))?;
    Ok(status.current_state == ServiceState::Running)
}

#[cfg(not(windows))]
fn service_running(_: &str) -> Result<bool, String> {
    Err(format!(
        "{} has no Windows service control manager",
        std::env::consts::OS
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegFile;

    #[test]
    fn this_process_is_running_and_a_missing_file_has_no_size() {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            LocalHost.family("process.running", &name),
            Ok(FactValue::Bool(true))
        );
        assert_eq!(
            LocalHost.family("process.running", "no-such-program-kbguard"),
            Ok(FactValue::Bool(false))
        );
        assert!(LocalHost.family("file.size", "/no/such/file").is_err());
        assert_eq!(
            LocalHost.family("file.exists", "/no/such/file"),
            Ok(FactValue::Bool(false))
        );
        assert!(LocalHost.family("no.such", "x").is_err());
        if cfg!(not(windows)) {
            let why = LocalHost
                .family("service.running", "MSExchangeIS")
                .unwrap_err();
            assert!(why.contains("service control manager"), "{why}");
        }
    }

    #[test]
    fn file_versions_are_read_from_pe_version_resources() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // A 5 KB PE built from tests/fixtures/pe/isinteg.rc with binutils' windres, as and ld.
        let exe = root.join("tests/fixtures/pe/isinteg.exe");
        assert_eq!(
            pe_file_version(&exe).unwrap(),
            "5.5.2653.23".parse::<Version>().unwrap()
        );
        assert_eq!(
            LocalHost.family("file.version", &exe.display().to_string()),
            Ok(FactValue::Version("5.5.2653.23".parse().unwrap()))
        );
        let dir = tempfile::tempdir().unwrap();
        // A 2 GB file (sparse) is mapped, not read: its headers answer as quickly.
        let huge = dir.path().join("huge.exe");
        std::fs::copy(&exe, &huge).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&huge)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        assert_eq!(
            pe_file_version(&huge).unwrap(),
            "5.5.2653.23".parse::<Version>().unwrap()
        );
        // Not a PE, missing, a folder, truncated: unknown with a reason, never a panic.
        let truncated = dir.path().join("cut.exe");
        std::fs::write(&truncated, &std::fs::read(&exe).unwrap()[..300]).unwrap();
        for bad in [
            root.join("Cargo.toml"),
            root.join("no-such.exe"),
            root.join("src"),
            truncated,
        ] {
            assert!(pe_file_version(&bad).is_err(), "{}", bad.display());
        }
    }

    #[test]
    fn text_reads_are_bounded_and_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("boot.ini");
        std::fs::write(&ini, b"[boot loader]\r\ntimeout=30\r\n\xe9").unwrap();
        let text = LocalHost.text(&ini.display().to_string()).unwrap();
        assert!(text.ends_with('\u{e9}'), "{text:?}");
        let big = dir.path().join("big.txt");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(TEXT_LIMIT + 10).unwrap();
        let why = LocalHost.text(&big.display().to_string()).unwrap_err();
        assert!(why.contains("larger than"), "{why}");
        assert!(LocalHost.text("/no/such/file").is_err());
    }

    #[test]
    fn service_start_types_come_from_the_registry_and_reads_are_cached() {
        let export = "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services]\n\n\
            [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS]\n\"Start\"=dword:00000002\n";
        let file = RegFile::parse(export.as_bytes()).unwrap();
        let host = RegistryOnly(&file);
        let cached = Cached::new(&host);
        assert_eq!(
            cached.family("service.start_type", "msexchangeis"),
            Ok(FactValue::Str("auto".into()))
        );
        assert_eq!(cached.families.borrow().len(), 1);
        assert!(cached
            .family("service.start_type", "Nope")
            .unwrap_err()
            .contains("not installed"));
        assert!(host.family("file.size", "C:\\x").is_err());
        assert!(ANOTHER_HOST.registry().is_err());
    }
}
