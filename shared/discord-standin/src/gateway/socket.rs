//! One gateway connection: HELLO, then IDENTIFY → READY (or RESUME →
//! RESUMED), heartbeats answered, dispatches forwarded from the test.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    CLOSE_DISALLOWED_INTENTS, GATEWAY_GUILD_MEMBERS, GATEWAY_GUILD_MEMBERS_LIMITED, GatewayFrame,
    GwShared, INTENT_GUILD_MEMBERS, Outgoing, payloads,
};

pub(crate) async fn session(socket: WebSocket, shared: GwShared, resume_url: String) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string();
    if sink.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    // Outgoing frames (ours and the test's dispatches) go through one task.
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let message = match out {
                Outgoing::Text(text) => Message::Text(text.into()),
                Outgoing::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let mut shard: Option<u32> = None;
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        shared.lock().frames.push(GatewayFrame {
            shard,
            payload: payload.clone(),
        });
        match payload["op"].as_u64() {
            Some(1) => {
                let _ = tx.send(Outgoing::Text(json!({"op": 11}).to_string()));
            }
            Some(2) => {
                let id = payload["d"]["shard"][0].as_u64().unwrap_or(0) as u32;
                let count = payload["d"]["shard"][1].as_u64().unwrap_or(1);
                let intents = payload["d"]["intents"].as_u64().unwrap_or(0);
                let mut inner = shared.lock();
                // Beyond Discord's identify limits: Invalid Session, not
                // resumable (the client identifies again later).
                if !inner.identify_allowed(id, std::time::Instant::now()) {
                    let _ = tx.send(Outgoing::Text(json!({"op": 9, "d": false}).to_string()));
                    continue;
                }
                inner.intents.insert(id, intents);
                // A privileged intent the application has not enabled: Discord
                // closes the connection instead of sending READY.
                let allowed = GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED;
                if intents & INTENT_GUILD_MEMBERS != 0
                    && inner.fixture.application_flags & allowed == 0
                {
                    inner.disallowed.push(id);
                    let _ = tx.send(Outgoing::Close(
                        CLOSE_DISALLOWED_INTENTS,
                        "Disallowed intent(s).",
                    ));
                    continue;
                }
                shard = Some(id);
                inner.shards.insert(id, tx.clone());
                // A new session numbers its dispatches from 1 again.
                inner.seq.insert(id, 0);
                let guilds: Vec<Value> = inner
                    .fixture
                    .ready_guilds
                    .get(&id)
                    .map(|g| {
                        g.iter()
                            .map(|g| json!({"id": g.to_string(), "unavailable": true}))
                            .collect()
                    })
                    .unwrap_or_default();
                let app = inner.fixture.application_id;
                let session_id = format!("session-{id}-{}", inner.next_snowflake());
                inner.sessions.insert(session_id.clone(), id);
                let ready = json!({
                    "v": 10,
                    "user": payloads::user(inner.fixture.bot_user_id, "Guildhall", true),
                    "guilds": guilds,
                    "session_id": session_id,
                    "resume_gateway_url": resume_url,
                    "application": {"id": app.to_string(), "flags": inner.fixture.application_flags},
                    "shard": [id, count],
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "user_settings": {},
                    "geo_ordered_rtc_regions": [],
                    "guild_join_requests": [],
                    "session_type": "normal",
                });
                inner.dispatch(id, "READY", ready);
                inner.ready_sent.push(id);
            }
            Some(6) => {
                // RESUME: a session this stand-in handed out is re-attached
                // and confirmed; any other gets INVALID_SESSION (not
                // resumable), after which the client identifies afresh.
                let session = payload["d"]["session_id"].as_str().unwrap_or_default();
                let mut inner = shared.lock();
                match inner.sessions.get(session).copied() {
                    Some(id) => {
                        shard = Some(id);
                        inner.shards.insert(id, tx.clone());
                        inner.dispatch(id, "RESUMED", json!({}));
                        inner.resumed.push(id);
                    }
                    None => {
                        let _ = tx.send(Outgoing::Text(json!({"op": 9, "d": false}).to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(id) = shard {
        let mut inner = shared.lock();
        if inner.shards.get(&id).is_some_and(|s| s.same_channel(&tx)) {
            inner.shards.remove(&id);
        }
    }
    drop(tx);
    let _ = writer.await;
}
