//! WebSocket helpers for the ingest and page-socket tests (blocking tungstenite).

use std::net::TcpStream;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A client socket.
pub type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// Opens `url`, with `Authorization: <auth>` when given; reads time out after 10 s.
pub fn connect(url: &str, auth: Option<&str>) -> Ws {
    let mut req = url.into_client_request().unwrap();
    if let Some(a) = auth {
        req.headers_mut()
            .insert("authorization", a.parse().unwrap());
    }
    let (ws, _) = tungstenite::connect(req).unwrap();
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    ws
}

/// Sends a JSON text frame.
pub fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::text(v.to_string())).unwrap();
}

/// The next JSON text frame.
pub fn next(ws: &mut Ws) -> serde_json::Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// The next JSON text frame whose `t` is `kind`.
pub fn next_of(ws: &mut Ws, kind: &str) -> serde_json::Value {
    loop {
        let v = next(ws);
        if v["t"] == kind {
            return v;
        }
    }
}

/// The close frame the server sends.
pub fn closed_with(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => return (f.code, f.reason.to_string()),
            Ok(Message::Close(None)) => panic!("closed without a reason"),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}
