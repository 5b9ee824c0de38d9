//! What we write passes the reference validator (`sigmf_validate` from the `sigmf` Python
//! package, installed by `scripts/test.sh`); these tests fail when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tests::recording;
use super::*;

/// Runs `sigmf_validate -v <path>`, failing on a non-zero exit or any warning it prints
/// (undeclared extensions, data shorter than the annotations, ...; Python hides
/// deprecation warnings unless asked, hence `PYTHONWARNINGS`).
fn assert_valid(path: &Path) {
    let output = Command::new(validator())
        .env("PYTHONWARNINGS", "default")
        .arg("-v")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run sigmf_validate ({e}); install it with: pip install 'sigmf==1.14.0'")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "{}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        path.display(),
        output.status
    );
    assert!(output.status.success(), "sigmf_validate refused {report}");
    assert!(
        !stderr.contains("Warning"),
        "sigmf_validate warned about {report}"
    );
    assert!(
        stderr.contains("Validated all 1 files OK"),
        "sigmf_validate said {report}"
    );
}

/// `sigmf_validate` from PATH, else from `python3`'s scripts directory (where pip puts it
/// even when a pyenv shim has not been made yet).
fn validator() -> PathBuf {
    let on_path = Command::new("sigmf_validate").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return PathBuf::from("sigmf_validate");
    }
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Path::new(&scripts).join("sigmf_validate")
}

#[test]
fn pairs_and_archives_pass_the_reference_validator() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(1000);
    for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
        let (meta, data) = write_pair(&dir.path().join(dt.as_str()), &rec, dt).unwrap();
        assert_valid(&meta);
        assert_valid(&data);
    }
    let archive = dir.path().join("window.sigmf");
    write_archive(&archive, &rec, SigmfDatatype::Ci16Le).unwrap();
    assert_valid(&archive);
}

#[test]
fn minimal_recording_passes_the_reference_validator() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = crate::dsp::IqRecording {
        sample_rate_hz: 48_000.0,
        ..Default::default()
    };
    // An empty archive passes; an empty pair cannot be checked (the validator cannot mmap
    // an empty data file).
    let archive = dir.path().join("empty.sigmf");
    write_archive(&archive, &rec, SigmfDatatype::Cf32Le).unwrap();
    assert_valid(&archive);
    rec.samples = vec![crate::dsp::Complex32::new(0.5, -0.5); 16];
    let (meta, _) = write_pair(&dir.path().join("bare"), &rec, SigmfDatatype::Cf32Le).unwrap();
    assert_valid(&meta);
}
