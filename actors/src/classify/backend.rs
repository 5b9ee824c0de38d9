//! Which ONNX backend runs in this process: pure-Rust tract (the default, nothing to
//! install) or ONNX Runtime loaded at run time from a library the operator names.
//!
//! `ort::set_api` is process-wide and the first call wins, so the choice is made once by
//! [`select_backend`]; later calls return that first choice. Nothing else in the process
//! may call `ort::set_api` or `ort::init().build()`.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

/// Which ONNX backend runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Pure-Rust tract through `ort-tract`.
    Tract,
    /// ONNX Runtime loaded from `library`.
    OnnxRuntime {
        /// The shared library that was loaded.
        library: PathBuf,
        /// Its version.
        version: String,
    },
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Tract => write!(f, "tract"),
            Backend::OnnxRuntime { version, .. } => write!(f, "onnxruntime {version}"),
        }
    }
}

static SELECTED: OnceLock<(Backend, String)> = OnceLock::new();
static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Selects the backend once per process; returns it with a one-line reason for the log.
///
/// `Some(path)` loads that ONNX Runtime library (e.g. the `onnxruntime` wheel's
/// `onnxruntime/capi/libonnxruntime.so.1.31.1`); on any failure (missing file, not a
/// library, no `OrtGetApiBase`, a runtime older than the C API ort was built for) it falls
/// back to tract and says why. `None` selects tract. Loading a library runs its
/// initialisers: only name a trusted ONNX Runtime build.
pub fn select_backend(onnxruntime_lib: Option<&Path>) -> (Backend, String) {
    SELECTED
        .get_or_init(|| {
            let Some(path) = onnxruntime_lib else {
                return tract("no ONNX Runtime library configured: using tract".into());
            };
            let shown = path.display();
            match load_onnxruntime(path) {
                Ok(version) => {
                    let why = format!("using ONNX Runtime {version} from {shown}");
                    let library = path.into();
                    (Backend::OnnxRuntime { library, version }, why)
                }
                Err(e) => tract(format!(
                    "cannot use ONNX Runtime from {shown}: {e}; falling back to tract"
                )),
            }
        })
        .clone()
}

/// Installs tract as ort's API.
fn tract(mut reason: String) -> (Backend, String) {
    if !ort::set_api(ort_tract::api()) {
        reason.push_str(" (warning: the ort API was already set elsewhere in this process)");
    }
    (Backend::Tract, reason)
}

/// Loads ONNX Runtime from `path` and installs it as ort's API; returns its version.
fn load_onnxruntime(path: &Path) -> Result<String, String> {
    type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: loading a library runs its initialisers (documented on `select_backend`); the
    // symbol has the C signature of `OrtGetApiBase`; pointers returned by ONNX Runtime are
    // checked for null. The library is leaked so the API's function pointers stay valid.
    unsafe {
        let lib = libloading::Library::new(path).map_err(|e| e.to_string())?;
        let get_base: libloading::Symbol<GetApiBase> =
            lib.get(b"OrtGetApiBase\0").map_err(|e| e.to_string())?;
        let base = get_base();
        if base.is_null() {
            return Err("OrtGetApiBase returned null".into());
        }
        let version = CStr::from_ptr(((*base).GetVersionString)())
            .to_string_lossy()
            .into_owned();
        let api = ((*base).GetApi)(ort::sys::ORT_API_VERSION);
        if api.is_null() {
            return Err(format!(
                "ONNX Runtime {version} is too old (needs C API version {})",
                ort::sys::ORT_API_VERSION
            ));
        }
        let api = (*api).clone();
        std::mem::forget(lib);
        if !ort::set_api(api) {
            return Err("the ort API was already set elsewhere in this process".into());
        }
        Ok(version)
    }
}

/// The process-wide ort environment (one per process), made after the backend is chosen.
pub(super) fn environment() -> Result<&'static Environment, String> {
    select_backend(None);
    let env = ENVIRONMENT.get_or_init(|| ort::init().build().map_err(|e| e.to_string()));
    env.as_ref().map_err(Clone::clone)
}

/// The backend chosen so far, if any.
pub fn selected() -> Option<Backend> {
    SELECTED.get().map(|(b, _)| b.clone())
}
