//! Loading: figment merges the TOML file and the environment; errors name the key, the
//! value and where it came from (file or environment variable).

use std::fmt;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::{Figment, Metadata, Profile, Provider};

use super::Config;

/// Prefix of environment overrides: `FIELDMESH_UI__PORT=9000` sets `ui.port`.
pub const ENV_PREFIX: &str = "FIELDMESH_";

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `ui.port`.
    pub key: String,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// Where the value came from: `file config/dev.toml`, `env FIELDMESH_UI__PORT`, `default`.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "{} = {v}: {} (from {})",
                self.key, self.message, self.origin
            ),
            None => write!(f, "{}: {} (from {})", self.key, self.message, self.origin),
        }
    }
}

/// The configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("config file {path}: {message}")]
    File {
        /// The path given.
        path: String,
        /// Why it cannot be read.
        message: String,
    },
    /// Keys with wrong types, unknown keys or values out of range.
    #[error("invalid configuration:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Problem>),
}

/// Loads `path`, applies `FIELDMESH_*` environment overrides and validates.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let figment = Figment::new()
        .merge(named_toml(&text, format!("file {}", path.display())))
        .merge(Env::prefixed(ENV_PREFIX).split("__"));
    extract(&figment)
}

/// Loads TOML text named `name` (no environment): built-in configs and tests.
pub fn load_str(text: &str, name: &str) -> Result<Config, ConfigError> {
    extract(&Figment::new().merge(named_toml(text, name.to_string())))
}

/// TOML text as a figment provider whose errors name where the text came from.
pub fn named_toml(text: &str, name: String) -> impl Provider {
    NamedToml {
        data: Toml::string(text),
        name,
    }
}

struct NamedToml {
    data: figment::providers::Data<Toml>,
    name: String,
}

impl Provider for NamedToml {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<figment::value::Map<Profile, figment::value::Dict>, figment::Error> {
        self.data.data()
    }
}

pub fn extract(figment: &Figment) -> Result<Config, ConfigError> {
    let config: Config = figment.extract().map_err(|e| {
        ConfigError::Invalid(e.into_iter().map(|e| problem_of(figment, e)).collect())
    })?;
    let problems: Vec<Problem> = config
        .problems()
        .into_iter()
        .map(|(key, message)| Problem {
            value: figment.find_value(&key).ok().map(|v| display_value(&v)),
            origin: origin_of(figment, &key, None),
            key,
            message,
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

fn problem_of(figment: &Figment, e: figment::Error) -> Problem {
    use figment::error::Kind;
    let mut path = e.path.clone();
    let (value, message) = match &e.kind {
        Kind::UnknownField(field, _) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            (None, "unknown key".to_string())
        }
        Kind::MissingField(field) => {
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            (None, "missing key".to_string())
        }
        Kind::InvalidType(actual, expected) => (
            Some(actual.to_string()),
            format!("wrong type, expected {expected}"),
        ),
        Kind::InvalidValue(actual, expected) => (
            Some(actual.to_string()),
            format!("invalid value, expected {expected}"),
        ),
        Kind::UnknownVariant(v, expected) => (
            Some(format!("{v:?}")),
            format!("unknown value, expected one of: {}", expected.join(", ")),
        ),
        other => (None, other.to_string()),
    };
    let key = path.join(".");
    let value = value.or_else(|| figment.find_value(&key).ok().map(|v| display_value(&v)));
    Problem {
        origin: origin_of(figment, &key, e.metadata.as_ref()),
        key,
        value,
        message,
    }
}

fn origin_of(figment: &Figment, key: &str, fallback: Option<&Metadata>) -> String {
    let Some(meta) = figment.find_metadata(key).or(fallback) else {
        return "default".into();
    };
    if meta.name.contains("environment") {
        let var: Vec<String> = key.split('.').map(str::to_ascii_uppercase).collect();
        format!("env {ENV_PREFIX}{}", var.join("__"))
    } else {
        meta.name.to_string()
    }
}

fn display_value(v: &figment::value::Value) -> String {
    use figment::value::Value;
    match v {
        Value::String(_, s) => format!("{s:?}"),
        Value::Dict(..) => "{...}".into(),
        Value::Array(..) => "[...]".into(),
        other => other
            .to_actual()
            .to_string()
            .trim_start_matches("unsigned int ")
            .trim_start_matches("signed int ")
            .trim_start_matches("float ")
            .trim_matches('`')
            .to_string(),
    }
}
