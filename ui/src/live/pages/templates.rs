//! The page templates (minijinja, HTML auto-escaped), built into the binary.

use std::sync::{Arc, LazyLock};

use minijinja::Environment;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in templates!(
        "layout.html",
        "mesh.html",
        "mesh_summary.html",
        "mesh_nodes.html",
        "rooms.html",
        "rooms_list.html",
        "sensor.html",
        "sensor_head.html",
        "sensor_attention.html",
        "sensor_detections.html",
        "events.html",
        "events_filter.html",
        "events_chart.html",
        "events_list.html",
        "artifacts.html",
        "artifacts_summary.html",
        "artifacts_list.html",
    ) {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "template does not compile");
        }
    }
    env
});

/// `name` rendered with `ctx`; a template error renders as a visible message (and is
/// logged) rather than an empty page.
pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Arc<str> {
    match ENV.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Arc::from(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            let msg = e.to_string().replace('&', "&amp;").replace('<', "&lt;");
            Arc::from(format!("<p class=error>template {name} failed: {msg}</p>"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_values_are_escaped() {
        for name in ENV.templates().map(|(n, _)| n) {
            assert!(ENV.get_template(name).is_ok(), "{name}");
        }
        assert_eq!(ENV.templates().count(), 17, "a template failed to compile");
        let html = render(
            "events_chart.html",
            minijinja::context! { bars => vec![minijinja::context!{ kind => "<x>", n => 1, h => 2.0, y => 3.0, x => 0 }], total => 1 },
        );
        assert!(html.contains("&lt;x&gt;"), "{html}");
        assert!(!html.contains("<x>"));
    }
}
