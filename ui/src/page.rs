//! A plain server-rendered status page (`/`): who the node is, its counters and its latest
//! events, refreshed every two seconds. The live dashboard replaces it.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;
use fieldmesh_actors::store::{EventQuery, Order};

use super::{ApiState, EventView};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /`
pub(crate) async fn status(State(s): State<ApiState>) -> Html<String> {
    let m = s.metrics.snapshot();
    let latest = s
        .store
        .query(EventQuery {
            limit: 25,
            order: Order::Newest,
            ..EventQuery::default()
        })
        .await
        .unwrap_or_default();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=2>\
         <title>fieldmesh {name}</title><style>body{{font:14px system-ui;margin:2em;background:#111;color:#ddd}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:left;border-bottom:1px solid #333}}\
         code{{color:#8cf}}</style></head><body><h1>fieldmesh · {name}</h1>\
         <p>node <code>{id}</code> · role <b>{role}</b> · {stored} events stored · {restarts} restarts · \
         store commit mean {mean} µs, max {max} µs</p><h2>Events per sensor (since start)</h2><table>",
        name = esc(&s.node.name),
        id = s.node.id,
        role = esc(&s.node.role),
        stored = m.stored_events,
        restarts = m.restarts,
        mean = m.store_write_mean_us,
        max = m.store_write_max_us,
    );
    for (sensor, n) in &m.events_by_sensor {
        let _ = write!(html, "<tr><td>{}</td><td>{n}</td></tr>", esc(sensor));
    }
    html.push_str("</table><h2>Latest events</h2><table><tr><th>seq</th><th>kind</th><th>sensor</th><th>payload</th></tr>");
    for e in latest.iter().map(EventView::from) {
        let mut payload = e.payload.to_string();
        if payload.len() > 120 {
            payload.truncate(payload.floor_char_boundary(120));
            payload.push('…');
        }
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            esc(&e.kind),
            esc(e.sensor.as_deref().unwrap_or("node")),
            esc(&payload)
        );
    }
    html.push_str("</table></body></html>");
    Html(html)
}
